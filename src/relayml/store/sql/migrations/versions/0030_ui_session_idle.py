"""ui_sessions idle timeout: when a session was last seen, and why it ended

`last_seen_at` is the session's last activity, written at most once a minute (NULL: none since
it opened, so its opening counts); a session without a request for the idle limit ends, and
`end_reason` says whether it was signed out ('signed out', or NULL as before) or went idle
('idle'), so a stale cookie is told which.

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ui_sessions") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("end_reason", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ui_sessions") as batch:
        batch.drop_column("end_reason")
        batch.drop_column("last_seen_at")
