"""The migrations build exactly the schema `schema.py` describes, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from relayml.store.sql import schema
from relayml.store.sql.store import SqlStore


def _for_other_dialect(entry: Any, dialect: str) -> bool:
    """An index `schema.py` declares only for another database (`Index.ddl_if`)."""
    if not (isinstance(entry, tuple) and entry[0] in ("add_index", "remove_index")):
        return False
    declared = {i.name: i for t in schema.metadata.tables.values() for i in t.indexes}
    ddl_if = getattr(declared.get(entry[1].name), "_ddl_if", None)
    return ddl_if is not None and ddl_if.dialect not in (None, dialect)


def test_migrated_database_matches_the_schema(store_url: str) -> None:
    store = SqlStore(store_url)  # migrated on first use
    try:
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, schema.metadata)
            dialect = conn.dialect.name
    finally:
        store.dispose()
    assert [d for d in diff if not _for_other_dialect(d, dialect)] == []
