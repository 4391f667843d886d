"""dataset_versions: who put a version back into quarantine, and who deprecated it, and why

A data engineer can undo a release (or quarantine data whose problem the contract did not
catch), and deprecate a version: still readable, readers warned, new uses refused.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("quarantined_at", sa.DateTime(timezone=True)),
    ("quarantined_by", sa.String(length=128)),
    ("quarantine_reason", sa.Text()),
    ("deprecated_at", sa.DateTime(timezone=True)),
    ("deprecated_by", sa.String(length=128)),
    ("deprecation_reason", sa.Text()),
)


def upgrade() -> None:
    for name, kind in _COLUMNS:
        op.add_column("dataset_versions", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMNs: batch mode would recreate `dataset_versions`, which others reference.
    for name, _ in reversed(_COLUMNS):
        op.drop_column("dataset_versions", name)
