"""audit event count: one event may stand for many identical denied attempts

Denials are aggregated per principal, action and entity over a window (services/denials.py),
so a client cannot grow the trail by retrying a forbidden call. The count is part of the
event's hash (and so of its MAC) when it is not 1: every event written before this revision
has a count of 1 and keeps its hash, so existing chains verify unchanged.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "audit_events", sa.Column("count", sa.BigInteger(), nullable=False, server_default="1")
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("count")
