"""webhook dispatch: deliveries claimed with a lease, retried at a time kept in the database

`webhook_deliveries.next_attempt_at` (when the next attempt is due; NULL once delivered or
failed), `lease_until` and `lease_owner` (who is making the current attempt, until when).
Deliveries left pending by the synchronous sender (a process that died between its commit and
its POST, or during its retries) become due at once, so the dispatcher sends them.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("lease_owner", sa.String(64), nullable=True))
        batch.create_index("ix_webhook_deliveries_due", ["status", "next_attempt_at"])
    deliveries = sa.table(
        "webhook_deliveries",
        sa.column("status", sa.String),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("next_attempt_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        deliveries.update()
        .where(deliveries.c.status == "pending")
        .values(next_attempt_at=deliveries.c.updated_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_index("ix_webhook_deliveries_due")
        batch.drop_column("lease_owner")
        batch.drop_column("lease_until")
        batch.drop_column("next_attempt_at")
