"""pipeline runs and steps end `finished`, as experiment runs do

Pipeline runs and their steps called success `succeeded`; experiment runs `finished`. One
vocabulary of run states now (`RunStatus`): stored rows are rewritten both ways.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TABLES = ("pipeline_runs", "pipeline_steps")


def _rename(old: str, new: str) -> None:
    for name in _TABLES:
        table = sa.table(name, sa.column("status", sa.String))
        op.execute(table.update().where(table.c.status == old).values(status=new))


def upgrade() -> None:
    _rename("succeeded", "finished")


def downgrade() -> None:
    _rename("finished", "succeeded")
