"""dataset_triggers: pipelines started by the publication of a dataset version

`@relay.pipeline(on_publish="loans")` watches a dataset; each new usable version starts one run
(`pipeline_runs.dataset` records which version), claimed once per (pipeline, dataset) by a
conditional update of `last_version`.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dataset_triggers",
        sa.Column("project", sa.String(length=128), nullable=False),
        sa.Column("pipeline", sa.String(length=128), nullable=False),
        sa.Column("dataset", sa.String(length=128), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["project"], ["projects.name"], name=op.f("fk_dataset_triggers_project_projects")
        ),
        sa.PrimaryKeyConstraint("project", "pipeline", "dataset", name=op.f("pk_dataset_triggers")),
    )
    op.add_column("pipeline_runs", sa.Column("dataset", sa.String(length=300), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN: batch mode would recreate `pipeline_runs`, which steps reference.
    op.drop_column("pipeline_runs", "dataset")
    op.drop_table("dataset_triggers")
