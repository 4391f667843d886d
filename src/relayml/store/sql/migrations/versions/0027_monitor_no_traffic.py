"""monitor no-traffic alerts: how many time windows without rows make an alert

`no_traffic_after` (NULL: never) is the number of complete time windows in a row without rows
from the primary arm after which the monitor opens a `no_traffic` alert.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("no_traffic_after", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("no_traffic_after")
