"""schedule_claims: who paused a schedule, when and why

A data engineer pauses a schedule (a pipeline's cron, a monitor's later) with a reason; a
scheduler claims no slot of a paused schedule, and resuming it catches up from the resume.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("paused_at", sa.DateTime(timezone=True)),
    ("paused_by", sa.String(length=128)),
    ("pause_reason", sa.Text()),
)


def upgrade() -> None:
    for name, kind in _COLUMNS:
        op.add_column("schedule_claims", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedule_claims") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
