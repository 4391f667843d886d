"""run summary and search indexes

The runs row gains `summary` (params, tags and latest metrics as JSON, backfilled here), so a
page of runs is read in one statement. The indexes search filters through become covering on
SQLite; on PostgreSQL params and tags get (key, run_id), because a long value cannot be indexed
there (the (key, value) index of 0001 refused params over about 2,700 bytes).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

from relayml.store.sql import summary

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index("ix_latest_metrics_key_value", table_name="latest_metrics")
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value", "run_id"])
    op.drop_index("ix_params_key_value", table_name="params")
    for table in ("params", "tags"):
        if sqlite:
            op.create_index(f"ix_{table}_key_value", table, ["key", "value", "run_id"])
        else:
            op.create_index(f"ix_{table}_key_run", table, ["key", "run_id"])
    op.add_column(
        "runs",
        sa.Column("summary", sa.Text(), nullable=False, server_default=summary.EMPTY),
    )
    conn = op.get_bind()
    docs: dict[str, tuple[dict[str, str], dict[str, str], dict[str, float]]] = defaultdict(
        lambda: ({}, {}, {})
    )
    for run_id, key, value in conn.execute(sa.text("SELECT run_id, key, value FROM params")):
        docs[run_id][0][key] = value
    for run_id, key, value in conn.execute(sa.text("SELECT run_id, key, value FROM tags")):
        docs[run_id][1][key] = value
    latest = sa.text("SELECT run_id, key, value FROM latest_metrics")
    for run_id, key, value in conn.execute(latest):
        docs[run_id][2][key] = float("nan") if value is None else float(value)
    rows = [{"id": rid, "summary": summary.encode(*doc)} for rid, doc in docs.items()]
    if rows:
        conn.execute(sa.text("UPDATE runs SET summary = :summary WHERE id = :id"), rows)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_column("runs", "summary")
    for table in ("params", "tags"):
        name = f"ix_{table}_key_value" if sqlite else f"ix_{table}_key_run"
        op.drop_index(name, table_name=table)
    op.create_index("ix_params_key_value", "params", ["key", "value"])
    op.drop_index("ix_latest_metrics_key_value", table_name="latest_metrics")
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])
