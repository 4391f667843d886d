"""A page with more runs than SQLite allows bound variables comes back whole, in order.

Search reads a page in one statement with a fixed number of parameters; this guards against a
page being read again by its ids (one bound variable per run), which a SQLite build with a small
variable limit would refuse.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from relayml.sdk.session import connect
from relayml.store.sql import schema as s
from relayml.store.sql import summary
from tests.conftest import settings_for


def test_a_page_larger_than_the_bound_variable_limit(tmp_path: Path) -> None:
    backend = connect(settings=settings_for(tmp_path), project="big").backend
    store = backend.services.store  # type: ignore[attr-defined]

    @event.listens_for(store.engine, "connect")
    def _low_limit(dbapi_conn: Any, _record: Any) -> None:
        # as a SQLite build with a small SQLITE_MAX_VARIABLE_NUMBER would have it
        dbapi_conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)

    store.engine.dispose()  # new connections, with the limit
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with store.write() as tx:
        exp = tx.tracking.ensure_experiment("big", "e", "admin", base)
    runs, params = [], []
    for i in range(3_000):
        rid = uuid.uuid4().hex
        start = base + timedelta(seconds=i)
        runs.append(
            {
                "id": rid,
                "experiment_id": exp,
                "name": f"r{i}",
                "status": "finished",
                "user": "admin",
                "start_time": start,
                "end_time": start,
                "parent_id": None,
                "summary": summary.encode({"i": str(i)}, {}, {}),
            }
        )
        params.append({"run_id": rid, "key": "i", "value": str(i)})
    with store.write() as tx:
        tx.conn.execute(s.runs.insert(), runs)
        tx.conn.execute(s.params.insert(), params)
    page = backend.tracking.search_runs(project="big", order_by=["start_time"], limit=3_000)
    assert [r.params["i"] for r in page.runs] == [str(i) for i in range(3_000)]
    assert page.runs[-1].start_time == base + timedelta(seconds=2_999)
    backend.close()
