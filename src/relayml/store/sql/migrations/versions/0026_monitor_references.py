"""monitor references per model version: the reference follows the deployment

A monitor compares each window with the reference of the model version that answered its rows:
`monitor_references` keeps one per (monitor, version) (the dataset version and the stored
reference's digest), built when a version's rows first arrive; each window says which version's
reference it used (`monitor_windows.model_version`; NULL: the monitor's first). Existing
monitors' references are copied in.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "monitor_references",
        sa.Column("monitor_id", sa.String(length=32), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(length=256), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("built_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["monitor_id"], ["monitors.id"]),
        sa.PrimaryKeyConstraint("monitor_id", "model_version"),
    )
    op.execute(
        "INSERT INTO monitor_references (monitor_id, model_version, dataset, digest, built_at) "
        "SELECT id, model_version, reference, reference_digest, created_at FROM monitors "
        "WHERE model_version IS NOT NULL AND reference_digest IS NOT NULL"
    )
    with op.batch_alter_table("monitor_windows") as batch:
        batch.add_column(sa.Column("model_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("monitor_windows") as batch:
        batch.drop_column("model_version")
    op.drop_table("monitor_references")
