"""blob uploads: who uploaded which blob into which project

A blob is reachable only through an entity of a project (a run artifact, a step's output or
logs, a dataset version) or an upload recorded here, so a digest alone no longer reads another
project's bytes. The digest indexes let a project's reachability check (and garbage collection)
find a blob's references without a scan.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blob_uploads",
        sa.Column("project", sa.String(length=128), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=128), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project"], ["projects.name"], name=op.f("fk_blob_uploads_project_projects")
        ),
        sa.PrimaryKeyConstraint("project", "digest", name=op.f("pk_blob_uploads")),
    )
    op.create_index(op.f("ix_blob_uploads_digest"), "blob_uploads", ["digest"])
    op.create_index(op.f("ix_artifacts_digest"), "artifacts", ["digest"])
    op.create_index(op.f("ix_dataset_versions_blob"), "dataset_versions", ["blob"])


def downgrade() -> None:
    op.drop_index(op.f("ix_dataset_versions_blob"), table_name="dataset_versions")
    op.drop_index(op.f("ix_artifacts_digest"), table_name="artifacts")
    op.drop_index(op.f("ix_blob_uploads_digest"), table_name="blob_uploads")
    op.drop_table("blob_uploads")
