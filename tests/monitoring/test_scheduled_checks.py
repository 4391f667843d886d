"""Model-shift checks on the monitors' schedule, against real `relay serve` processes on
127.0.0.1: a monitor keeps its live server's URL, and `relay monitors run` checks it (the
served digest, the golden-set replay) and records both on the monitor. A clean server passes
with no alert; a server that did not follow the registry opens a critical model_shift alert in
the inbox, resolved once it serves the right model again (`relay monitors check`); a dead or
silent server costs the pass a bounded wait and no other monitor its checks; the replay's own
rows in the prediction log are no traffic to the monitor."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from relayml.client.base import Backend
from relayml.client.connect import open_backend
from relayml.domain.monitors import AlertKind, AlertState, CheckKind, Severity
from relayml.monitoring import runner
from relayml.tables.parquet import write_normalized
from relayml.testing.server import free_port
from tests.cli.conftest import Relay
from tests.conftest import settings_for
from tests.monitoring.test_shift import P, _data, register, serving


@dataclass
class World:
    home: Path
    backend: Backend


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """churn@1 and churn@2 (each with a golden set), train@1 as the monitors' reference, and
    churn-api serving churn@1."""
    home = tmp_path / "relay" / ".relay"
    backend = open_backend(settings_for(home))
    X, y = _data(0)
    path = tmp_path / "train.parquet"
    write_normalized(pa.Table.from_pandas(X.assign(label=y), preserve_index=False), path, None)
    backend.datasets.publish(P, "train", path)
    register(backend, tmp_path, make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), X)
    register(backend, tmp_path, make_pipeline(StandardScaler(), LogisticRegression(C=0.002))
             .fit(X, y), X)  # fmt: skip
    backend.deployments.create(P, "churn-api", "churn@1")
    try:
        yield World(home, backend)
    finally:
        backend.close()


def _monitor(w: World, name: str, endpoint: str | None, **kw: object) -> None:
    w.backend.monitors.create(P, "churn-api", name=name, reference="train@1", target="label",
                              endpoint=endpoint, **kw)  # type: ignore[arg-type]  # fmt: skip


def _tick(w: World, **kw: object) -> dict[str, runner.Outcome]:
    out = runner.tick(w.backend, P, loops=False, **kw)  # type: ignore[arg-type]
    return {o.monitor: o for o in out}


def test_a_clean_server_passes_and_its_replays_are_no_traffic(world: World) -> None:
    w = world
    with serving(w.home, "churn-api") as url:
        _monitor(w, "churn-api", url, window="10")  # rows windows: 10 golden rows would close one
        o = _tick(w)["churn-api"]
        assert o.error is None and o.check_error is None
        assert [(c.kind, c.passed) for c in o.checks] == [
            (CheckKind.DIGEST, True),
            (CheckKind.REPLAY, True),
        ]
        assert (
            "205 golden rows of churn@1 gave the recorded outputs" in o.checks[1].details["message"]
        )
        assert w.backend.monitors.list_alerts(P) == []
        assert _tick(w)["churn-api"].checks == ()  # checked 5 minutes apart, not every pass
    # the server wrote its log on the way out: the replay's 205 rows are there, and skipped
    done = w.backend.monitors.process(P, "churn-api")
    assert done.segments >= 1 and done.rows == 0 and done.closed == ()
    assert w.backend.monitors.history(P, "churn-api") == []


def test_a_stale_server_alerts_critical_until_it_serves_the_right_model(world: World) -> None:
    w = world
    with serving(w.home, "churn-api", poll="3600") as stale:  # loads churn@1, never follows
        _monitor(w, "churn-api", stale)
        w.backend.deployments.set_target(P, "churn-api", "churn@2", reason="a new version")
        o = _tick(w, settle=0.5)["churn-api"]
        assert [(c.kind, c.passed) for c in o.checks] == [
            (CheckKind.DIGEST, False),
            (CheckKind.REPLAY, False),
        ]
        alerts = {a.subject: a for a in w.backend.monitors.list_alerts(P)}
        digest = alerts["digest"]
        assert (digest.kind, digest.severity, digest.state) == (
            AlertKind.MODEL_SHIFT,
            Severity.CRITICAL,
            AlertState.OPEN,
        )
        assert "resolves churn-api to churn@2" in digest.title and "serves churn@1" in digest.title
        assert alerts["replay"].severity is Severity.WARNING
        inbox = {i.id: i for i in w.backend.models.inbox(P) if i.kind == "alert"}
        assert inbox[digest.id].severity == "critical"
        # the registry goes back to what the server serves: the check passes, the alert goes
        w.backend.deployments.set_target(P, "churn-api", "churn@1", reason="rolled back")
        cli = Relay(w.home)
        ok = cli("monitors", "check", "churn-api", "--settle", "0")
        assert ok.code == 0, ok
        assert "digest  ok" in ok.out and "recorded as check(s) 3, 4" in ok.out
    assert w.backend.monitors.list_alerts(P) == []
    gone = w.backend.monitors.get_alert(P, digest.id)
    assert gone.state is AlertState.RESOLVED and gone.resolved_by == "@monitor"
    assert [c.passed for c in w.backend.monitors.checks(P, "churn-api")] == [
        False,
        False,
        True,
        True,
    ]


@pytest.fixture
def silent() -> Iterator[str]:
    """A port that accepts connections and never answers (a hung server)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def test_a_dead_or_silent_server_costs_a_bounded_wait_and_no_other_monitor(
    world: World, silent: str
) -> None:
    w = world
    with serving(w.home, "churn-api") as url:
        _monitor(w, "a-dead", f"http://127.0.0.1:{free_port()}")
        _monitor(w, "b-silent", silent)
        _monitor(w, "c-clean", url)
        started = time.monotonic()
        found = _tick(w, timeout=2.0, settle=0.0)
        assert time.monotonic() - started < 60
    for name in ("a-dead", "b-silent"):
        o = found[name]
        assert o.error is None and o.checks == ()
        assert o.check_error is not None and "cannot reach the model server" in o.check_error
        assert w.backend.monitors.checks(P, name) == []  # nothing said about what it serves
    assert [c.passed for c in found["c-clean"].checks] == [True, True]
    assert w.backend.monitors.list_alerts(P) == []
    cli = Relay(w.home)
    ran = cli("monitors", "run", "--once", "-p", P, "--no-loops")
    assert ran.code == 0 and "a-dead: model-shift check: cannot reach" in ran.out, ran


def test_the_endpoint_is_set_later_and_refused_when_unsafe(world: World) -> None:
    w = world
    _monitor(w, "churn-api", None)
    cli = Relay(w.home)
    bad = cli("monitors", "set-endpoint", "churn-api", "http://ops:pw@127.0.0.1:8600")
    assert bad.code != 0 and "credentials" in bad.err and "Traceback" not in bad.err
    made = cli("monitors", "set-endpoint", "churn-api", "http://127.0.0.1:8600",
               "--check-every", "1m")  # fmt: skip
    assert made.code == 0 and "checks http://127.0.0.1:8600 every 1m" in made.out
    shown = cli("monitors", "show", "churn-api")
    assert "model shift: checks http://127.0.0.1:8600 every 1m" in shown.out
    none = cli("monitors", "check", "churn-api", "--endpoint", "gopher://x")
    assert none.code != 0 and "not http or https" in none.err
    assert cli("monitors", "set-endpoint", "churn-api", "--clear").code == 0
    said = cli("monitors", "check", "churn-api")
    assert said.code != 0 and "has no endpoint to check" in said.err
