"""A statement past RELAY_STATEMENT_TIMEOUT is stopped with a clear `Timeout`, on both
databases; the connection stays usable, and a transaction that merely lasts long still commits."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from relayml.errors import Timeout
from relayml.store.sql.store import SqlStore

SLOW = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(30)",
}


def test_a_slow_statement_is_stopped_with_a_timeout(store_url: str) -> None:
    store = SqlStore(store_url, statement_timeout=0.3)
    try:
        slow = SLOW[store.engine.dialect.name]
        with pytest.raises(Timeout, match="RELAY_STATEMENT_TIMEOUT"), store.read() as tx:
            tx.conn.execute(text(slow)).all()
        with pytest.raises(Timeout), store.write() as tx:
            tx.conn.execute(text(slow)).all()
        with store.read() as tx:  # the pooled connection still works
            assert tx.conn.execute(text("SELECT 1")).scalar() == 1
        with store.write() as tx:  # slow between statements is not a slow statement
            tx.identity.create_project("p", "", "admin", datetime.now(UTC))
            time.sleep(0.5)
        with store.read() as tx:
            assert tx.identity.project_exists("p")
    finally:
        store.dispose()
