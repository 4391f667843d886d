"""schedule claims for every kind of schedule

Cron claim state moves out of `pipelines` (its `schedule_since` and `last_scheduled` columns)
into `schedule_claims`, keyed by (kind, project, name), so monitors and later kinds share the
one claim machinery. Existing pipeline claims are copied over; downgrade copies them back.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "schedule_claims",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("project", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("since", TS, nullable=True),
        sa.Column("last_slot", TS, nullable=True),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["project"], ["projects.name"], name=op.f("fk_schedule_claims_project_projects")
        ),
        sa.PrimaryKeyConstraint("kind", "project", "name", name=op.f("pk_schedule_claims")),
    )
    op.execute(
        "INSERT INTO schedule_claims (kind, project, name, since, last_slot) "
        "SELECT 'pipeline', project, name, schedule_since, last_scheduled FROM pipelines "
        "WHERE schedule IS NOT NULL OR last_scheduled IS NOT NULL"
    )
    with op.batch_alter_table("pipelines") as batch:
        batch.drop_column("schedule_since")
        batch.drop_column("last_scheduled")


def downgrade() -> None:
    with op.batch_alter_table("pipelines") as batch:
        batch.add_column(sa.Column("schedule_since", TS, nullable=True))
        batch.add_column(sa.Column("last_scheduled", TS, nullable=True))
    for column, source in (("schedule_since", "since"), ("last_scheduled", "last_slot")):
        op.execute(
            f"UPDATE pipelines SET {column} = (SELECT c.{source} FROM schedule_claims c "  # noqa: S608
            "WHERE c.kind = 'pipeline' AND c.project = pipelines.project "
            "AND c.name = pipelines.name)"
        )
    op.drop_table("schedule_claims")
