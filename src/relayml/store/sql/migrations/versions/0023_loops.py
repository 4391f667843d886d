"""loops: the closed loop (alert -> retrain -> evaluation -> approval -> canary -> promotion)

`loops` holds what a project attached, `loop_runs` each pass through it with its record of
steps; `promotion_requests.hold` marks a request a loop opened ("loop:RUN_ID"), whose approval
leaves it `approved` until the loop's canary decides.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loops",
        sa.Column("project", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detached_by", sa.String(length=128), nullable=True),
        sa.Column("detached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detach_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project"], ["projects.name"], name=op.f("fk_loops_project_projects")
        ),
        sa.PrimaryKeyConstraint("project", "name", name=op.f("pk_loops")),
    )
    op.create_table(
        "loop_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project", sa.String(length=128), nullable=False),
        sa.Column("loop", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("alert", sa.String(length=64), nullable=True),
        sa.Column("started_by", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("pipeline_run", sa.String(length=32), nullable=True),
        sa.Column("candidate", sa.String(length=256), nullable=True),
        sa.Column("request", sa.String(length=32), nullable=True),
        sa.Column("canary_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project"], ["projects.name"], name=op.f("fk_loop_runs_project_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loop_runs")),
        sa.UniqueConstraint("pipeline_run", name=op.f("uq_loop_runs_pipeline_run")),
        sa.UniqueConstraint("project", "loop", "alert", name=op.f("uq_loop_runs_project")),
    )
    op.create_index("ix_loop_runs_project_state", "loop_runs", ["project", "state"])
    with op.batch_alter_table("promotion_requests") as batch:
        batch.add_column(sa.Column("hold", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("promotion_requests") as batch:
        batch.drop_column("hold")
    op.drop_index("ix_loop_runs_project_state", table_name="loop_runs")
    op.drop_table("loop_runs")
    op.drop_table("loops")
