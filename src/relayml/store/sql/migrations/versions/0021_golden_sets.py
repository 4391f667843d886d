"""model_versions: the golden set (input rows and the outputs the model gave on them at
registration, a Parquet blob), so a live server can be checked against what was registered

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("golden", sa.String(length=64)),
    ("golden_rows", sa.Integer()),
    ("golden_size", sa.BigInteger()),
)


def upgrade() -> None:
    for name, kind in _COLUMNS:
        op.add_column("model_versions", sa.Column(name, kind, nullable=True))
    op.create_index(op.f("ix_model_versions_golden"), "model_versions", ["golden"])


def downgrade() -> None:
    # Plain DROP COLUMNs: batch mode would recreate `model_versions`, which others reference.
    op.drop_index(op.f("ix_model_versions_golden"), table_name="model_versions")
    for name, _ in reversed(_COLUMNS):
        op.drop_column("model_versions", name)
