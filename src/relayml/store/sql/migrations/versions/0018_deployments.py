"""deployments: what model servers serve, their traffic rules and history, the prediction
log's segments and feedback on predictions

A deployment follows an alias or pins a version of one model; each change bumps its revision
and keeps a row in deployment_changes (before and after, with the primary version served).
log_segments registers the Parquet files of the prediction log by digest (so garbage
collection keeps them); feedback holds one row per (deployment, prediction id).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=256), nullable=False),
        sa.Column("canary", sa.String(length=256), nullable=True),
        sa.Column("canary_percent", sa.Float(), nullable=False),
        sa.Column("sticky_key", sa.String(length=128), nullable=True),
        sa.Column("shadow", sa.String(length=256), nullable=True),
        sa.Column("unsafe_pickle", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project"], ["projects.name"], name=op.f("fk_deployments_project_projects")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_deployments_model_id_models")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
        sa.UniqueConstraint("project", "name", name=op.f("uq_deployments_project")),
    )
    op.create_index(op.f("ix_deployments_model_id"), "deployments", ["model_id"])
    op.create_table(
        "deployment_changes",
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("who", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state_before", sa.JSON(), nullable=True),
        sa.Column("state_after", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_deployment_changes_deployment_id_deployments"),
        ),
        sa.PrimaryKeyConstraint("deployment_id", "revision", name=op.f("pk_deployment_changes")),
    )
    op.create_table(
        "log_segments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("uri", sa.String(length=1024), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("server_id", sa.String(length=128), nullable=False),
        sa.Column("registered_by", sa.String(length=128), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_log_segments_deployment_id_deployments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_segments")),
        sa.UniqueConstraint("deployment_id", "uri", name=op.f("uq_log_segments_deployment_id")),
    )
    op.create_index(op.f("ix_log_segments_digest"), "log_segments", ["digest"])
    op.create_index(
        "ix_log_segments_deployment_last_at", "log_segments", ["deployment_id", "last_at"]
    )
    op.create_table(
        "feedback",
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("prediction_id", sa.String(length=128), nullable=False),
        sa.Column("label", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("outcome", sa.Float(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("who", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_feedback_deployment_id_deployments"),
        ),
        sa.PrimaryKeyConstraint("deployment_id", "prediction_id", name=op.f("pk_feedback")),
    )
    op.create_index("ix_feedback_deployment_at", "feedback", ["deployment_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_feedback_deployment_at", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_log_segments_deployment_last_at", table_name="log_segments")
    op.drop_index(op.f("ix_log_segments_digest"), table_name="log_segments")
    op.drop_table("log_segments")
    op.drop_table("deployment_changes")
    op.drop_index(op.f("ix_deployments_model_id"), table_name="deployments")
    op.drop_table("deployments")
