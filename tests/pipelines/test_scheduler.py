"""The scheduler: due slots, one catch-up run after downtime, webhook alerts on failure."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from relayml.client.base import Backend
from relayml.domain.pipelines import Trigger
from relayml.domain.tracking import RunStatus
from relayml.pipelines import scheduler
from relayml.pipelines.runner import register
from tests.pipelines.conftest import WriteModule

SCHEDULED = """
import relayml as relay

@relay.step
def extract(n: int) -> int:
    return n

@relay.step
def load(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative batch {x}")
    return x

@relay.pipeline(schedule="0 3 * * *")
def daily(n: int = 1):
    load(extract(n))

@relay.pipeline(schedule="*/15 * * * *")
def broken(n: int = -1):
    load(extract(n))
"""


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    failures_left = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Hook.failures_left > 0:  # the first delivery fails: the scheduler must retry
            _Hook.failures_left -= 1
            self.send_response(503)
            self.end_headers()
            return
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    _Hook.received = []
    _Hook.failures_left = 1
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alerts"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_missed_slots_run_once_on_start(backend: Backend, write_module: WriteModule) -> None:
    ref = write_module(SCHEDULED) + ":daily"
    register(backend, ref, "etl")
    (info,) = backend.pipelines.list_pipelines("etl", scheduled=True)
    assert info.schedule_since is not None
    since = info.schedule_since
    assert scheduler.tick(backend, now=since) == []  # nothing due right after registration

    # The scheduler was down for three days: three 03:00 slots were missed.
    later = (since + timedelta(days=3)).replace(hour=12)
    outcomes = scheduler.tick(backend, now=later)
    assert len(outcomes) == 1
    run = outcomes[0].run
    assert run is not None and run.status is RunStatus.FINISHED
    assert run.trigger is Trigger.SCHEDULE
    assert run.scheduled_for is not None
    assert run.scheduled_for == later.replace(hour=3, minute=0, second=0, microsecond=0)
    assert scheduler.tick(backend, now=later) == []  # that slot is done
    assert scheduler.tick(backend, now=later + timedelta(hours=1)) == []
    next_day = scheduler.tick(backend, now=later + timedelta(days=1))
    assert [o.run.status for o in next_day if o.run] == [RunStatus.FINISHED]
    runs = backend.pipelines.list_runs("etl", "daily")
    assert len(runs) == 2 and all(r.trigger is Trigger.SCHEDULE for r in runs)


def test_a_failed_scheduled_run_alerts_the_webhook(
    backend: Backend, write_module: WriteModule, webhook: str
) -> None:
    ref = write_module(SCHEDULED) + ":broken"
    register(backend, ref, "etl")
    (info,) = backend.pipelines.list_pipelines("etl", scheduled=True)
    assert info.schedule_since is not None
    outcomes = scheduler.tick(
        backend, now=info.schedule_since + timedelta(minutes=31), webhook=webhook
    )
    (outcome,) = outcomes
    assert outcome.run is not None and outcome.run.status is RunStatus.FAILED
    assert outcome.alerted
    (event,) = _Hook.received  # delivered once, after one refused attempt
    assert event["kind"] == "pipeline_run.failed" and event["project"] == "etl"
    assert event["subject"] == "pipeline:etl/broken"
    payload = event["payload"]
    assert payload["pipeline"] == "broken" and payload["run_id"] == outcome.run.id
    assert payload["trigger"] == "schedule" and payload["failed_steps"] == ["load"]
    assert "ValueError: negative batch -1" in payload["error"]


def test_a_paused_schedule_starts_nothing_until_resumed(
    backend: Backend, write_module: WriteModule
) -> None:
    ref = write_module(SCHEDULED) + ":daily"
    register(backend, ref, "etl")
    (info,) = backend.pipelines.list_pipelines("etl", scheduled=True)
    assert info.schedule_since is not None
    backend.pipelines.pause("etl", "daily", "the warehouse is being migrated")
    later = info.schedule_since + timedelta(days=3)
    assert scheduler.tick(backend, now=later) == []  # three slots came while it was paused
    assert backend.pipelines.list_runs("etl", "daily") == []

    resumed = backend.pipelines.resume("etl", "daily")
    assert resumed.schedule_since is not None and resumed.schedule_since > info.schedule_since
    # Catching up counts from the resume: nothing is due at the moment it was resumed.
    assert scheduler.tick(backend, now=resumed.schedule_since) == []
    (outcome,) = scheduler.tick(backend, now=later)
    assert outcome.run is not None and outcome.run.status is RunStatus.FINISHED
    assert outcome.slot == later.replace(hour=3, minute=0, second=0, microsecond=0)
