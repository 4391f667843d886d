"""run summary and search indexes

The runs row gains `summary` (params, tags and latest metrics as JSON, backfilled here), so a
page of runs is read in one statement. Search filters through covering (key, value, run_id)
indexes on SQLite, where params, tags and latest_metrics also become WITHOUT ROWID tables (a
lookup by (run, key) is then one B-tree descent, not two). On PostgreSQL params and tags get
(key, run_id) instead, because a long value cannot be indexed there: the (key, value) index of
0001 refused params over about 2,700 bytes.

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

_KEYED = ("params", "tags", "latest_metrics")


def _columns(table: str) -> list[sa.Column[object]]:
    cols: list[sa.Column[object]] = [
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
    ]
    if table == "latest_metrics":
        cols += [
            sa.Column("value", sa.Float(precision=53), nullable=True),
            sa.Column("step", sa.BigInteger(), nullable=False),
            sa.Column("timestamp", sa.BigInteger(), nullable=False),
        ]
    else:
        cols.append(sa.Column("value", sa.Text(), nullable=False))
    return cols


def _rebuild_sqlite(table: str, with_rowid: bool, indexes: dict[str, list[str]]) -> None:
    """SQLite cannot change a table's rowid-ness in place: copy it into a new one."""
    new = f"{table}_0004"
    op.create_table(
        new,
        *_columns(table),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=f"fk_{table}_run_id_runs"),
        sa.PrimaryKeyConstraint("run_id", "key", name=f"pk_{table}"),
        sqlite_with_rowid=with_rowid,
    )
    names = ", ".join(c.name for c in _columns(table))
    op.execute(f"INSERT INTO {new} ({names}) SELECT {names} FROM {table}")  # noqa: S608
    op.drop_table(table)
    op.rename_table(new, table)
    for name, cols in indexes.items():
        op.create_index(name, table, cols)


def _backfill(conn: sa.Connection) -> None:
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


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for table in _KEYED:
            cover = {f"ix_{table}_key_value": ["key", "value", "run_id"]}
            _rebuild_sqlite(table, with_rowid=False, indexes=cover)
    else:
        op.drop_index("ix_latest_metrics_key_value", table_name="latest_metrics")
        op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value", "run_id"])
        op.drop_index("ix_params_key_value", table_name="params")
        for table in ("params", "tags"):
            op.create_index(f"ix_{table}_key_run", table, ["key", "run_id"])
    op.add_column(
        "runs",
        sa.Column("summary", sa.Text(), nullable=False, server_default=summary.EMPTY),
    )
    _backfill(conn)


def downgrade() -> None:
    conn = op.get_bind()
    op.drop_column("runs", "summary")
    as_in_0001 = {
        "params": {"ix_params_key_value": ["key", "value"]},
        "tags": {},
        "latest_metrics": {"ix_latest_metrics_key_value": ["key", "value"]},
    }
    if conn.dialect.name == "sqlite":
        for table in _KEYED:
            _rebuild_sqlite(table, with_rowid=True, indexes=as_in_0001[table])
        return
    for table in ("params", "tags"):
        op.drop_index(f"ix_{table}_key_run", table_name=table)
    op.drop_index("ix_latest_metrics_key_value", table_name="latest_metrics")
    for table, indexes in as_in_0001.items():
        for name, cols in indexes.items():
            op.create_index(name, table, cols)
