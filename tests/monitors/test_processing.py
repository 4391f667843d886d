"""Processing a monitor on segments the model server's log writer wrote: windows closing by time
and by rows, windows summarised once and merged (a window read in two passes is the window
read in one), concurrent processors that do not double-count, a failure mid-way that writes
nothing, an alert storm de-duplicated into one alert per condition with one webhook each."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from tests.conftest import settings_for
from tests.monitors.conftest import P, Served

from relayml.client.base import Backend
from relayml.domain.monitors import AlertKind
from relayml.sdk import session
from relayml.services.monitor_processing import ProcessingMixin


def _create(s: Served, **options: Any) -> None:
    settings: dict[str, Any] = {"window": "1h", "target": "default", "min_rows": 50,
                                "alert_after": "2/3", "since": s.t0}  # fmt: skip
    settings.update(options)
    s.backend.monitors.create(P, "scorecard-api", **settings)


def test_time_windows_close_once_complete_and_late_segments_merge(served: Served) -> None:
    s = served
    _create(s)
    s.log({0: 0.0, 1: 0.0}, per_segment=100)  # two segments per hour
    done = s.backend.monitors.process(P, "scorecard-api")
    assert (done.segments, done.rows, len(done.closed)) == (4, 400, 2)
    windows = s.backend.monitors.history(P, "scorecard-api")
    assert [(w.rows, w.start - s.t0) for w in windows] == [
        (200, timedelta(0)), (200, timedelta(hours=1)),
    ]  # fmt: skip
    # a segment of hour 0 that a server flushes late is merged into its closed window
    late = Served(s.backend, s.home, s.model, s.signature, s.t0)
    late.log({0: 0.0}, n=50)
    done = s.backend.monitors.process(P, "scorecard-api")
    assert done.closed == () and done.updated == (windows[0].seq,) and done.rows == 50
    assert s.backend.monitors.history(P, "scorecard-api")[0].rows == 250


def test_a_window_merged_from_parts_equals_the_window_read_whole(served: Served) -> None:
    """Summaries merge exactly: the same rows in one segment or in four give one summary."""
    s = served
    _create(s, name="whole")
    _create(s, name="parts")
    s.log({0: 0.0}, per_segment=200)
    whole = s.backend.monitors.process(P, "whole")
    s.backend.monitors.archive(P, "whole")
    assert whole.segments == 1
    s2 = Served(s.backend, s.home, s.model, s.signature, s.t0 + timedelta(hours=1))
    s2.log({0: 0.0}, per_segment=50)  # hour 1, written in four segments
    parts_monitor = s.backend.monitors.process(P, "parts")
    assert parts_monitor.segments == 5  # hour 0's one and hour 1's four
    services = s.backend.services  # type: ignore[attr-defined]
    with services.store.read() as tx:
        mon = tx.monitors.get(P, "parts")
        hour0, hour1 = tx.monitors.windows(mon.id, mon.name)
    assert len(hour1.parts) == 4
    assert hour0.summary["inputs"]["n_rows"] == hour1.summary["inputs"]["n_rows"] == 200
    # the hour written in four parts summarises as hour 0 shifted by nothing: same shape
    assert set(hour0.summary["inputs"]["columns"]) == set(hour1.summary["inputs"]["columns"])


def test_rows_windows_close_at_n_rows_and_keep_the_rest_open(served: Served) -> None:
    s = served
    _create(s, window=250)
    s.log({0: 0.0, 1: 0.0, 2: 0.0})  # 600 rows in three segments
    done = s.backend.monitors.process(P, "scorecard-api")
    assert done.rows == 600 and len(done.closed) == 2
    windows = s.backend.monitors.history(P, "scorecard-api")
    assert [(w.rows, w.closed) for w in windows] == [(250, True), (250, True), (100, False)]
    assert windows[0].assessment is not None and windows[2].assessment is None
    s.log({3: 0.0})  # 200 more: the open window fills to 250, 50 rows stay open
    done = s.backend.monitors.process(P, "scorecard-api")
    assert len(done.closed) == 1
    windows = s.backend.monitors.history(P, "scorecard-api")
    assert [(w.rows, w.closed) for w in windows] == [(250, True)] * 3 + [(50, False)]


def test_concurrent_processors_do_not_double_count(served: Served) -> None:
    s = served
    _create(s)
    s.log({h: 0.0 for h in range(6)})
    results: list[Any] = []
    errors: list[BaseException] = []
    backends = [session.connect(settings=settings_for(s.home), project=P).backend for _ in range(3)]
    barrier = threading.Barrier(len(backends))

    def work(b: Backend) -> None:
        try:
            barrier.wait()
            results.append(b.monitors.process(P, "scorecard-api"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(b,)) for b in backends]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for b in backends:
        b.close()
    assert errors == []
    assert sum(r.rows for r in results) == 1200  # each row counted once
    assert sorted(r.claimed for r in results)[-1] is True
    windows = s.backend.monitors.history(P, "scorecard-api")
    assert [w.rows for w in windows] == [200] * 6
    assert s.backend.monitors.process(P, "scorecard-api").rows == 0


def test_a_processor_that_dies_mid_way_writes_nothing(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything a pass computes is written in one transaction at its end: one that fails
    half-way (as one killed would) leaves no window, and the next pass does the work once."""
    s = served
    _create(s)
    s.log({0: 0.0, 1: 0.0, 2: 0.0})
    calls = {"n": 0}
    real = ProcessingMixin._assess

    def dies_on_the_second(self: Any, *args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed")
        real(self, *args)

    monkeypatch.setattr(ProcessingMixin, "_assess", dies_on_the_second)
    with pytest.raises(RuntimeError, match="killed"):
        s.backend.monitors.process(P, "scorecard-api")
    assert s.backend.monitors.history(P, "scorecard-api") == []
    monkeypatch.setattr(ProcessingMixin, "_assess", real)
    done = s.backend.monitors.process(P, "scorecard-api")  # the lease was let go
    assert done.claimed and len(done.closed) == 3 and done.rows == 600
    # a processor killed outright keeps its lease until it runs out; then another takes over
    services = s.backend.services  # type: ignore[attr-defined]
    from relayml.services.base import utcnow

    with services.store.write() as tx:
        mon = tx.monitors.get(P, "scorecard-api")
        assert tx.monitors.claim(mon.id, "dead", utcnow(), utcnow() + timedelta(minutes=5))
    assert not s.backend.monitors.process(P, "scorecard-api").claimed
    with services.store.write() as tx:
        tx.monitors.release(mon.id, "dead", changed=False)
        assert tx.monitors.claim(mon.id, "dead", utcnow(), utcnow() - timedelta(seconds=1))
    assert s.backend.monitors.process(P, "scorecard-api").claimed


class _Hook(BaseHTTPRequestHandler):
    events: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).events.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    _Hook.events = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/relay", _Hook.events
    server.shutdown()
    server.server_close()


def test_an_alert_storm_is_one_alert_per_condition_with_one_webhook_each(
    served: Served, hook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, events = hook
    s = served
    s.backend.notifications.add_webhook(P, url)
    _create(s, alert_after="1/1")  # every window that shows it would page, were it not one
    s.log({h: 12.0 for h in range(4)})  # a shift that lasts all night: one pass for 4 hours,
    s.backend.monitors.process(P, "scorecard-api")
    for h in range(4, 8):  # then the runner ticks hour after hour
        Served(s.backend, s.home, s.model, s.signature, s.t0).log({h: 12.0})
        s.backend.monitors.process(P, "scorecard-api")
    live = s.backend.monitors.list_alerts(P)
    keys = [(a.kind, a.subject) for a in live]
    assert len(keys) == len(set(keys)) and (AlertKind.DATA_DRIFT, "income") in keys
    income = next(a for a in live if a.subject == "income")
    assert income.windows == 8 and income.since == s.t0
    assert income.first_window == s.backend.monitors.history(P, "scorecard-api")[0].seq
    opened = [e for e in events if e["kind"] == "alert.opened"]
    assert len(opened) == len(live)  # one page per condition, not per window
    assert {e["payload"]["alert"] for e in opened} == {a.id for a in live}
    assert all(e["payload"]["severity"] in ("warning", "critical") for e in opened)
    families = {"data_drift", "prediction_drift", "performance", "model_shift"}
    assert {e["payload"]["family"] for e in opened} <= families
    # the night ends: alerts resolve themselves, and say so once each
    later = Served(s.backend, s.home, s.model, s.signature, s.t0 + timedelta(hours=8))
    later.log({0: 0.0})
    s.backend.monitors.process(P, "scorecard-api")
    assert (AlertKind.DATA_DRIFT, "income") not in {
        (a.kind, a.subject) for a in s.backend.monitors.list_alerts(P)
    }
    resolved = [e for e in events if e["kind"] == "alert.resolved"]
    assert income.id in {e["payload"]["alert"] for e in resolved}
    assert len(resolved) == len({e["payload"]["alert"] for e in resolved})


def test_the_report_page_is_self_contained(served: Served, tmp_path: Any) -> None:
    from relayml.sdk.monitors import write_html

    s = served
    _create(s)
    s.log({0: 0.0, 1: 9.0, 2: 9.0})
    s.backend.monitors.process(P, "scorecard-api")
    s.backend.monitors.record_check(P, "scorecard-api", "digest", False,
                                    {"message": "<script>alert(1)</script>"})  # fmt: skip
    page = write_html(s.backend.monitors.report(P, "scorecard-api"), tmp_path / "r.html")
    text = page.read_text()
    assert "default-src 'none'" in text and "<script" not in text
    assert "&lt;script&gt;" in text
    assert text.count('id="window-') == 3 and "income" in text


def test_labels_past_the_horizon_leave_a_window_as_it_was(served: Served) -> None:
    s = served
    _create(s, label_horizon="1h")  # the windows ended about 11 hours ago
    s.log({0: 0.0})
    s.backend.monitors.process(P, "scorecard-api")
    (before,) = s.backend.monitors.history(P, "scorecard-api")
    for pid, label in list(zip(s.ids[0], s.truth(0), strict=True))[:100]:
        s.backend.deployments.submit_feedback(P, "scorecard-api", pid, label=label)
    assert s.backend.monitors.process(P, "scorecard-api").updated == ()
    (after,) = s.backend.monitors.history(P, "scorecard-api")
    assert (after.labelled, after.updated_at) == (0, before.updated_at)


def test_kill_9_mid_way_leaves_all_or_nothing(served: Served) -> None:
    """A processor killed with SIGKILL while it works: the windows it was making are all
    there or none is (one transaction at the end), and once its lease runs out the next pass
    makes them, once."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from sqlalchemy import text

    from relayml.services.base import utcnow

    s = served
    _create(s)
    s.log({h: 0.0 for h in range(10)}, n=400, per_segment=100)  # 40 segments to read
    store = s.backend.services.store  # type: ignore[attr-defined]
    code = (
        "from pathlib import Path; from relayml.sdk.session import connect; "
        "from tests.conftest import settings_for; "
        f"b = connect(settings=settings_for(Path({str(s.home)!r})), project={P!r}).backend; "
        f"b.monitors.process({P!r}, 'scorecard-api')"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=os.getcwd())
    lease = text("SELECT lease_owner FROM monitors WHERE name = 'scorecard-api'")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        with store.read() as tx:
            if tx.conn.execute(lease).scalar() is not None:
                break
        time.sleep(0.005)
    time.sleep(0.2)  # into its work
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    windows = s.backend.monitors.history(P, "scorecard-api")
    assert len(windows) in (0, 10), "a half-written pass"
    with store.write() as tx:  # its lease runs out (here: made to)
        tx.conn.execute(
            text("UPDATE monitors SET lease_until = :at WHERE lease_owner IS NOT NULL"),
            {"at": utcnow() - timedelta(seconds=1)},
        )
    s.backend.monitors.process(P, "scorecard-api")
    assert [w.rows for w in s.backend.monitors.history(P, "scorecard-api")] == [400] * 10


def test_an_unreadable_segment_is_skipped_and_said_not_a_stall(served: Served) -> None:
    """A segment that is not a prediction log of the monitor's model (another schema, another
    model's classes) is read once, named in the pass's note and audit event, and passed over:
    the monitor goes on with the rest instead of failing on it every pass."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    s = served
    _create(s)
    bad = s.home / "bad.parquet"
    first = s.t0 + timedelta(minutes=5)
    pq.write_table(
        pa.table({"prediction_id": ["x"], "ts": pa.array([first], pa.timestamp("us", tz="UTC"))}),
        bad,
    )
    day = f"{first:%Y-%m-%d}"
    s.backend.deployments.record_segment(
        P, "scorecard-api", bad, uri=f"serving/{P}/scorecard-api/{day}/odd-1.parquet",
        records=1, first_at=first, last_at=first, server_id="odd",
    )  # fmt: skip
    s.log({0: 0.0, 1: 0.0})
    done = s.backend.monitors.process(P, "scorecard-api")
    assert done.claimed and done.rows == 400 and len(done.closed) == 2
    assert "odd-1.parquet" in done.note and "no column 'inputs'" in done.note
    again = s.backend.monitors.process(P, "scorecard-api")
    assert again.segments == 0 and again.note == ""
    events = s.backend.audit.log(project=P, action="monitor.process", limit=5)
    assert events  # the skip is on the record with the pass
