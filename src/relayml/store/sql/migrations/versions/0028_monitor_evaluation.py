"""monitor evaluation dataset: the dataset version the model's outputs come from

`monitors.evaluation` (NULL: the default) names the dataset version whose rows and labels give
the prediction-drift baseline and the calibration; `monitor_references.evaluation` and
`evaluation_from` record, per model version, which was used and why (named, promotion,
reference).

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("evaluation", sa.String(256), nullable=True))
    with op.batch_alter_table("monitor_references") as batch:
        batch.add_column(sa.Column("evaluation", sa.String(256), nullable=True))
        batch.add_column(sa.Column("evaluation_from", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("monitor_references") as batch:
        batch.drop_column("evaluation_from")
        batch.drop_column("evaluation")
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("evaluation")
