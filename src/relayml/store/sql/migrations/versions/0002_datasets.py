"""datasets

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["project"], ["projects.name"], name=op.f("fk_datasets_project_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("project", "name", name=op.f("uq_datasets_project")),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("blob", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("schema", sa.JSON(), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("sketch_blob", sa.String(length=64), nullable=True),
        sa.Column("quality", sa.JSON(), nullable=True),
        sa.Column("contract", sa.Text(), nullable=True),
        sa.Column("contract_digest", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("producer_run", sa.String(length=64), nullable=True),
        sa.Column("producer_step", sa.String(length=250), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("released_at", TS, nullable=True),
        sa.Column("released_by", sa.String(length=128), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_dataset_versions_dataset_id_datasets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_versions")),
        sa.UniqueConstraint("dataset_id", "version", name=op.f("uq_dataset_versions_dataset_id")),
        sa.UniqueConstraint(
            "dataset_id", "digest", name=op.f("uq_dataset_versions_dataset_id_digest")
        ),
    )
    op.create_index(op.f("ix_dataset_versions_producer_run"), "dataset_versions", ["producer_run"])
    op.create_table(
        "dataset_parents",
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["dataset_versions.id"],
            name=op.f("fk_dataset_parents_child_id_dataset_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["dataset_versions.id"],
            name=op.f("fk_dataset_parents_parent_id_dataset_versions"),
        ),
        sa.PrimaryKeyConstraint("child_id", "parent_id", name=op.f("pk_dataset_parents")),
    )
    op.create_index(op.f("ix_dataset_parents_parent_id"), "dataset_parents", ["parent_id"])
    op.create_table(
        "dataset_uses",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("used_at", TS, nullable=False),
        sa.Column("used_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["dataset_versions.id"],
            name=op.f("fk_dataset_uses_version_id_dataset_versions"),
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_dataset_uses_run_id_runs")),
        sa.PrimaryKeyConstraint("version_id", "run_id", name=op.f("pk_dataset_uses")),
    )
    op.create_index(op.f("ix_dataset_uses_run_id"), "dataset_uses", ["run_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_dataset_uses_run_id"), table_name="dataset_uses")
    op.drop_table("dataset_uses")
    op.drop_index(op.f("ix_dataset_parents_parent_id"), table_name="dataset_parents")
    op.drop_table("dataset_parents")
    op.drop_index(op.f("ix_dataset_versions_producer_run"), table_name="dataset_versions")
    op.drop_table("dataset_versions")
    op.drop_table("datasets")
