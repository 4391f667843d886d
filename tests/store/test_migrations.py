"""Schema creation, explicit upgrade, and refusal of a database newer than the code."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from relayml.errors import SchemaVersionError
from relayml.store.sql import engine as eng
from relayml.store.sql.store import SqlStore


def test_schema_head_constant_matches_alembic() -> None:
    script = ScriptDirectory(str(eng._MIGRATIONS))
    assert script.get_current_head() == eng.SCHEMA_HEAD


def test_first_use_creates_and_upgrade_is_idempotent(store_url: str) -> None:
    store = SqlStore(store_url)  # created on first use
    assert eng.current_revision(store.engine) == eng.SCHEMA_HEAD
    assert eng.upgrade(store.engine) == (eng.SCHEMA_HEAD, eng.SCHEMA_HEAD)
    store.dispose()


def test_explicit_upgrade_of_an_empty_database(tmp_path: Path) -> None:
    engine = eng.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert eng.current_revision(engine) is None
    assert eng.upgrade(engine) == (None, eng.SCHEMA_HEAD)
    with engine.connect() as conn:
        head = conn.execute(text("SELECT seq, hash FROM audit_head")).one()
    assert tuple(head) == (0, "0" * 64)
    engine.dispose()


def test_newer_database_is_refused(store_url: str) -> None:
    store = SqlStore(store_url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.dispose()
    with pytest.raises(SchemaVersionError, match="newer than this Relay"):
        SqlStore(store_url)


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'w.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.dispose()
