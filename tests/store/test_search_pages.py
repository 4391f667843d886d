"""A page bigger than SQLite's bound-variable limit slice still comes back whole and in order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from relayml.sdk.session import connect
from relayml.store.sql import schema as s
from tests.conftest import settings_for


def test_a_page_of_twelve_thousand_runs(tmp_path: Path) -> None:
    backend = connect(settings=settings_for(tmp_path), project="big").backend
    store = backend.services.store  # type: ignore[attr-defined]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with store.write() as tx:
        exp = tx.tracking.ensure_experiment("big", "e", "admin", base)
    runs, params = [], []
    for i in range(12_000):
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
            }
        )
        params.append({"run_id": rid, "key": "i", "value": str(i)})
    with store.write() as tx:
        tx.conn.execute(s.runs.insert(), runs)  # type: ignore[attr-defined]
        tx.conn.execute(s.params.insert(), params)  # type: ignore[attr-defined]
    page = backend.search_runs(project="big", order_by=["start_time"], limit=12_000)
    assert [r.params["i"] for r in page.runs] == [str(i) for i in range(12_000)]
    assert page.runs[-1].start_time == base + timedelta(seconds=11_999)
    backend.close()
