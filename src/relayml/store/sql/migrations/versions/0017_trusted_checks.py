"""trusted_checks: the custom checks a project's published contracts may run

The server never imports code a contract names unless an admin trusted it in the project, and
it is installed on the server (an entry point of group relayml_checks, or RELAY_TRUSTED_CHECKS).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trusted_checks",
        sa.Column("project", sa.String(length=128), nullable=False),
        sa.Column("ref", sa.String(length=250), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(length=128), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project"], ["projects.name"], name=op.f("fk_trusted_checks_project_projects")
        ),
        sa.PrimaryKeyConstraint("project", "ref", name=op.f("pk_trusted_checks")),
    )


def downgrade() -> None:
    op.drop_table("trusted_checks")
