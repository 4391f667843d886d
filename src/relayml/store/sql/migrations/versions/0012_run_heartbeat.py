"""runs.last_heartbeat: when an open run's process last said it was alive

The SDK heartbeats open runs (every write to a run counts as one), so a run whose process died
hard reads as `lost` once it has been silent for longer than RELAY_RUN_LOST_AFTER, instead of
`running` forever. Runs that exist already start from their start time: a run left running by a
process that died before this revision reads as lost, and a live one is running again at its
next write.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("last_heartbeat", sa.DateTime(timezone=True), nullable=True))
    runs = sa.table("runs", sa.column("start_time"), sa.column("last_heartbeat"))
    op.execute(runs.update().values(last_heartbeat=runs.c.start_time))


def downgrade() -> None:
    # A plain DROP COLUMN: batch mode would recreate `runs`, which other tables reference.
    op.drop_column("runs", "last_heartbeat")
