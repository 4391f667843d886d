"""Migration 0004 backfills each run's summary from the rows a 0003 database already holds."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, inspect, text

from relayml.domain.filters import parse_filter, parse_order_by
from relayml.store.sql import engine as eng
from relayml.store.sql import schema as s
from relayml.store.sql.store import SqlStore

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def _at_0003(url: str) -> None:
    engine = eng.make_engine(url)
    with engine.begin() as conn:
        command.upgrade(eng._alembic_config(conn), "0003")
        conn.execute(
            s.projects.insert(),
            [{"name": "p", "description": "", "created_at": NOW, "created_by": "a"}],
        )
        conn.execute(
            s.experiments.insert(),
            [{"id": 1, "project": "p", "name": "e", "created_at": NOW, "created_by": "a"}],
        )
        runs = [
            {
                "id": rid,
                "experiment_id": 1,
                "name": rid,
                "status": "finished",
                "user": "a",
                "start_time": NOW,
                "end_time": None,
                "parent_id": None,
            }
            for rid in ("r1", "r2")
        ]
        conn.execute(s.runs.insert().values(), runs)  # without the summary column 0003 lacks
        conn.execute(s.params.insert(), [{"run_id": "r1", "key": "C", "value": "1.0"}])
        conn.execute(s.tags.insert(), [{"run_id": "r1", "key": "team", "value": "risk"}])
        points = [("acc", 0.9), ("loss", None), ("up", math.inf)]
        conn.execute(
            s.latest_metrics.insert(),
            [{"run_id": "r1", "key": k, "value": v, "step": 0, "timestamp": 0} for k, v in points],
        )
    engine.dispose()


def test_upgrade_backfills_summaries_and_search_reads_them(store_url: str) -> None:
    _at_0003(store_url)
    store = SqlStore(store_url)  # migrated to head on first use
    try:
        assert eng.current_revision(store.engine) == eng.SCHEMA_HEAD
        with store.read() as tx:
            r1 = tx.tracking.get_run("r1")
            r2 = tx.tracking.get_run("r2")
            found = tx.tracking.search_runs(
                "p", None, parse_filter("metrics.acc > 0.5"), parse_order_by([]), 10
            )
        assert r1 is not None and r2 is not None
        assert r1.params == {"C": "1.0"} and r1.tags == {"team": "risk"}
        assert r1.metrics["acc"] == 0.9 and r1.metrics["up"] == math.inf
        assert math.isnan(r1.metrics["loss"])
        assert r1.start_time == NOW
        assert (r2.params, r2.tags, r2.metrics) == ({}, {}, {})
        assert [r.id for r in found[0]] == ["r1"]
    finally:
        store.dispose()


def _rowid_tables(engine: Engine) -> set[str] | None:
    """Which of the (run, key) tables are rowid tables (None: not SQLite)."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        ddl = {name: sql for name, sql in rows}
    return {t for t in ("params", "tags", "latest_metrics") if "WITHOUT ROWID" not in ddl[t]}


def test_downgrade_and_upgrade_again(store_url: str) -> None:
    _at_0003(store_url)
    engine = eng.make_engine(store_url)
    try:
        eng.upgrade(engine)
        with engine.begin() as conn:
            command.downgrade(eng._alembic_config(conn), "0003")
        assert "summary" not in {c["name"] for c in inspect(engine).get_columns("runs")}
        assert _rowid_tables(engine) in ({"params", "tags", "latest_metrics"}, None)
        assert eng.upgrade(engine) == ("0003", eng.SCHEMA_HEAD)
        assert _rowid_tables(engine) in (set(), None)
        fks = inspect(engine).get_foreign_keys("latest_metrics")
        assert [(f["constrained_columns"], f["referred_table"]) for f in fks] == [
            (["run_id"], "runs")
        ]
        indexes = {i["name"] for i in inspect(engine).get_indexes("params")}
        expected = "ix_params_key_value" if engine.dialect.name == "sqlite" else "ix_params_key_run"
        assert expected in indexes
    finally:
        engine.dispose()
