"""monitor endpoints: the live model server a monitor's runner checks for model shift

`endpoint` is the server's URL (no credentials), `check_every` the seconds between two of the
runner's checks of it (the served digest and the golden-set replay).

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("endpoint", sa.String(length=2048), nullable=True))
        batch.add_column(sa.Column("check_every", sa.Float(), nullable=False, server_default="300"))


def downgrade() -> None:
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("check_every")
        batch.drop_column("endpoint")
