"""Migration 0003 creates exactly the pipeline tables that schema.py describes."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from relayml.store.sql import schema
from relayml.store.sql.store import SqlStore

TABLES = {"pipelines", "pipeline_runs", "pipeline_steps"}


def test_migrated_pipeline_tables_match_the_schema(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'm.db'}")  # migrated on first use
    try:
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    finally:
        store.dispose()
    ours = [d for d in diff if TABLES & set(map(str, _tables(d)))]
    assert ours == []


def _tables(item: object) -> list[str]:
    """The table names an Alembic diff entry is about (entries are nested tuples/lists)."""
    found: list[str] = []
    stack = [item]
    while stack:
        x = stack.pop()
        if isinstance(x, list | tuple):
            stack.extend(x)
        elif hasattr(x, "name") and hasattr(x, "columns") and hasattr(x, "c"):
            found.append(str(x.name))
        elif hasattr(x, "table") and hasattr(x.table, "name"):
            found.append(str(x.table.name))
        elif isinstance(x, str):
            found.append(x)
    return found
