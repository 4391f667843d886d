"""role_documents: custom roles and changes to built-in roles, per installation or project

Each apply of a roles document (`relay roles apply`) is a new version of its scope ('*' for the
installation, or a project's name), kept as written; the newest is in force.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "role_documents",
        sa.Column("scope", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "version", name=op.f("pk_role_documents")),
    )


def downgrade() -> None:
    op.drop_table("role_documents")
