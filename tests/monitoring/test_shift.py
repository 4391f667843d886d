"""Model shift against real `relay serve` processes on 127.0.0.1.

Three servers: a clean one on the registry's own store (following it every 0.2 s); a drifted
one on the same store that does not follow the registry (`--poll 3600`: it keeps what it loaded
while an alias moves) and runs with ``SHIFTY_SCALE`` set, so a pickled pipeline whose
preprocessing reads it (tests/monitoring/shifty.py) behaves differently from the same bytes
at registration; and a server on another store whose `churn-api` serves another `churn@1` (a
model swapped behind the registry's back: same names, other bytes). The digest check must
catch the stale and the swapped server and pass the clean one; the replay must catch the
swapped model and the changed preprocessing (naming the rows and outputs that differ, as
computed offline), respect the tolerance, and pass the clean one."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from relayml.client.base import Backend
from relayml.client.connect import open_backend
from relayml.domain.identity import DEFAULT_PROJECT
from relayml.errors import InvalidInput, NotFound, PermissionDenied, ServerUnavailable
from relayml.flavors.formats import dump_model, load_model
from relayml.flavors.golden import build_golden, differences
from relayml.monitoring.shift import check_digest, check_replay, check_shift, golden_of
from relayml.testing.server import free_port
from tests.cli.conftest import Relay
from tests.conftest import settings_for
from tests.monitoring.shifty import EnvScaled

P = DEFAULT_PROJECT
ROOT = Path(__file__).resolve().parents[2]
STARTUP = 120.0
SCALE = "1.001"  # the drifted server's preprocessing: every input 0.1 % larger


def _data(seed: int, n: int = 600) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n) * 3 + 1})
    y = pd.Series((X.x1 - 0.4 * X.x2 + rng.normal(scale=0.8, size=n) > -0.4).astype(int))
    return X, y


def register(backend: Backend, tmp: Path, model: Any, X: pd.DataFrame, **kw: Any) -> Any:
    """As relay.models.register does: saved, loaded back, golden set built from the example
    and a sample, both uploaded and registered."""
    pickled = kw.pop("unsafe_pickle", False)
    saved = dump_model(model, input_example=X[:5], unsafe_pickle=pickled,
                       flavor="pickle" if pickled else None)  # fmt: skip
    loaded = load_model(saved.data, flavor=saved.flavor, digest=saved.digest,
                        signature=saved.signature, unsafe_pickle=pickled)  # fmt: skip
    path = tmp / f"{saved.digest}.bin"
    path.write_bytes(saved.data)
    golden = tmp / f"{saved.digest}.golden.parquet"
    golden.write_bytes(build_golden(loaded, input_example=X[:5], golden=X[200:400]))
    assert saved.signature is not None
    return backend.models.register(
        P, kw.pop("name", "churn"), path, flavor=saved.flavor.value,
        environment=saved.environment.to_dict(), signature=saved.signature.to_dict(),
        golden_file=golden, unsafe_pickle=pickled,
    )  # fmt: skip


@contextmanager
def serving(home: Path, *names: str, poll: str = "0.2", **env: str) -> Iterator[str]:
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    path = os.pathsep.join([str(ROOT), environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    environ.update(RELAY_HOME=str(home), RELAY_USER="admin", PYTHONPATH=path, **env)
    log = home.parent / f"serve-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "relayml.cli.app", "serve", *names, "--port", str(port),
             "--poll", poll],
            env=environ, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP
        while True:
            assert proc.poll() is None, f"relay serve exited:\n{log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"not ready:\n{log.read_text()[-3000:]}"
            time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class World:
    home: Path
    backend: Backend
    X: pd.DataFrame
    clean: str  # follows the registry, no surprises
    drifted: str  # stale (does not follow) and SHIFTY_SCALE set
    swapped: str  # another store's churn-api


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("shift")
    home, elsewhere = base / "relay" / ".relay", base / "other" / ".relay"
    backend = open_backend(settings_for(home))
    other = open_backend(settings_for(elsewhere))
    X, y = _data(0)
    lr = make_pipeline(StandardScaler(), LogisticRegression())
    register(backend, base, lr.fit(X, y), X)  # churn@1
    register(backend, base, make_pipeline(StandardScaler(), LogisticRegression(C=0.002))
             .fit(X, y), X)  # fmt: skip  # churn@2: other probabilities, mostly the same labels
    shifty = make_pipeline(EnvScaled(), StandardScaler(), LogisticRegression()).fit(X, y)
    register(backend, base, shifty, X, name="shifty", unsafe_pickle=True)
    for alias in ("staging", "stale", "follow"):
        backend.models.set_alias(P, "churn@1", alias, "test")
    backend.deployments.create(P, "churn-api", "churn@staging")
    backend.deployments.create(P, "stale-api", "churn@stale")
    backend.deployments.create(P, "follow-api", "churn@follow")
    backend.deployments.create(P, "shifty-api", "shifty@1", unsafe_pickle=True)
    backend.deployments.create(P, "unserved-api", "churn@1")
    # the other store: the same names, another model (fitted on other data) as churn@1
    X2, y2 = _data(1)
    register(other, base, make_pipeline(StandardScaler(), LogisticRegression()).fit(X2, -y2 + 1),
             X2)  # fmt: skip
    other.deployments.create(P, "churn-api", "churn@1")
    try:
        with (
            serving(home, "churn-api", "follow-api", "shifty-api") as clean,
            serving(home, "stale-api", "shifty-api", poll="3600", SHIFTY_SCALE=SCALE) as drifted,
            serving(elsewhere, "churn-api") as swapped,
        ):
            backend.models.set_alias(P, "churn@2", "stale", "moved while a server does not follow")
            yield World(home, backend, X, clean, drifted, swapped)
    finally:
        backend.close()
        other.close()


def test_a_clean_server_passes_both_checks(world: World) -> None:
    report = check_shift(world.backend, P, "churn-api", world.clean)
    assert report.passed and report.digest.passed and report.replay is not None
    (arm,) = report.digest.served
    assert (arm.role, arm.ref) == ("primary", "churn@1")
    assert report.replay.passed and report.replay.rows == 205
    assert report.replay.answered_by == "churn@1" and report.replay.differences == []
    shifty = check_shift(world.backend, P, "shifty-api", world.clean)
    assert shifty.passed, shifty.to_dict()


def test_the_digest_catches_a_server_that_did_not_follow_the_registry(world: World) -> None:
    found = check_digest(world.backend, P, "stale-api", world.drifted, settle=1.0)
    assert not found.passed
    (problem,) = found.problems
    assert problem.startswith("primary: the registry resolves stale-api to churn@2 (sha256 ")
    assert "the server serves churn@1 (sha256 " in problem
    # the replay compares with what should serve: churn@2's golden set, answered by churn@1
    replay = check_replay(world.backend, P, "stale-api", world.drifted)
    assert replay.passed is False and replay.version == "churn@2"
    assert replay.answered_by == "churn@1"
    assert replay.problems == ["answered by churn@1, which stale-api does not serve now "
                               "(compared with the golden set of churn@2)"]  # fmt: skip
    assert replay.differences  # churn@1's probabilities are not churn@2's


def test_a_server_that_follows_passes_once_it_has_followed(world: World) -> None:
    world.backend.models.set_alias(P, "churn@2", "follow", "a promotion")
    found = check_digest(world.backend, P, "follow-api", world.clean, settle=30)
    assert found.passed, found.problems
    assert [a.ref for a in found.served] == ["churn@2"]


def test_digest_and_replay_catch_a_model_swapped_behind_the_registry(world: World) -> None:
    report = check_shift(world.backend, P, "churn-api", world.swapped, settle=0)
    assert not report.passed
    expected = world.backend.models.get(P, "churn@1").digest
    (problem,) = report.digest.problems
    assert f"churn@1 (sha256 {expected[:12]}), the server serves churn@1 (sha256 " in problem
    assert report.digest.served[0].digest != expected
    replay = report.replay
    assert replay is not None and replay.passed is False and not replay.problems
    assert replay.answered_by == "churn@1"  # the same name and number: only the outputs tell
    rows = {d.row for d in replay.differences}
    assert len(rows) > 100  # a model fitted on flipped labels disagrees nearly everywhere
    assert {d.output for d in replay.differences} == {
        "prediction", "probability[0]", "probability[1]"}  # fmt: skip


def test_replay_catches_changed_preprocessing_the_digest_cannot_see(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = check_digest(world.backend, P, "shifty-api", world.drifted, settle=0)
    assert digest.passed, digest.problems  # the very bytes the registry holds
    replay = check_replay(world.backend, P, "shifty-api", world.drifted)
    assert replay.passed is False and not replay.problems
    # exactly the outputs the same bytes give with the scale set, computed here
    _, golden = golden_of(world.backend, P, "shifty@1")
    assert golden is not None
    monkeypatch.setenv("SHIFTY_SCALE", SCALE)
    mv = world.backend.models.get(P, "shifty@1")
    path = world.backend.models.download(P, "shifty@1", world.home.parent / "shifty.bin")
    model = load_model(path, flavor=mv.flavor, digest=mv.digest, signature=mv.signature,
                       unsafe_pickle=True)  # fmt: skip
    labels = model.predict(golden.inputs).tolist()
    proba = model.predict_proba(golden.inputs)
    offline = differences(golden, labels, proba, [0, 1])
    assert [(d.row, d.output) for d in replay.differences] == [
        (d.row, d.output) for d in offline]  # fmt: skip
    first = replay.differences[0]
    assert first.where.startswith("row ") and first.output.startswith(("prediction", "prob"))
    # the tolerance: the probabilities moved less than 1e-2 and no label flipped here ...
    assert not [d for d in offline if d.output == "prediction"]
    assert max(abs(d.recorded - d.served) for d in offline) < 1e-2
    loose = check_replay(world.backend, P, "shifty-api", world.drifted, atol=1e-2)
    assert loose.passed, loose.details()
    with pytest.raises(InvalidInput, match="tolerance"):
        check_replay(world.backend, P, "shifty-api", world.drifted, atol=-1.0)


def test_a_version_without_a_golden_set_is_skipped_not_failed(world: World) -> None:
    from relayml.flavors.formats import save_model

    X, y = _data(2)
    path = world.home.parent / "plain.skops"
    saved = save_model(LogisticRegression().fit(X, y), path, input_example=X[:5])
    assert saved.signature is not None
    world.backend.models.register(P, "plain", path, flavor="sklearn",
                                  environment=saved.environment.to_dict(),
                                  signature=saved.signature.to_dict())  # fmt: skip
    world.backend.deployments.create(P, "plain-api", "plain@1")
    with serving(world.home, "plain-api") as url:
        report = check_shift(world.backend, P, "plain-api", url)
    assert report.passed and report.replay is not None and report.replay.passed is None
    assert "plain@1 has no golden set" in (report.replay.skipped or "")


def test_errors_are_clear_for_bad_urls_down_servers_and_outsiders(world: World) -> None:
    with pytest.raises(InvalidInput, match="model server's URL"):
        check_shift(world.backend, P, "churn-api", "ftp://127.0.0.1:1")
    down = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerUnavailable, match=f"cannot reach the model server at {down}"):
        check_shift(world.backend, P, "churn-api", down)
    with pytest.raises(NotFound):
        check_shift(world.backend, P, "no-such-api", world.clean)
    unserved = check_digest(world.backend, P, "unserved-api", world.clean, settle=0)
    served = "churn-api, follow-api, shifty-api"
    assert unserved.problems == [f"the server does not serve unserved-api; it serves {served}"]
    with static_site(world.home.parent) as site, pytest.raises(InvalidInput, match="not a Relay"):
        check_shift(world.backend, P, "churn-api", site)
    world.backend.identity.ensure_project("elsewhere")
    token = world.backend.identity.create_user("otto", ["ml_engineer"], "elsewhere").token
    outsider = open_backend(settings_for(world.home), None, token)
    try:
        with pytest.raises(PermissionDenied):
            check_shift(outsider, P, "churn-api", world.clean)
    finally:
        outsider.close()


@contextmanager
def static_site(folder: Path) -> Iterator[str]:
    """Some other web server on 127.0.0.1 (Python's own, serving a folder)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kw: Any) -> None:
            super().__init__(*args, directory=str(folder), **kw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_cli_exits_1_on_a_shift_and_prints_json(world: World) -> None:
    cli = Relay(world.home)
    ok = cli("deployments", "verify", "churn-api", "--endpoint", world.clean)
    assert ok.code == 0, ok
    assert "digest  ok" in ok.out and "replay  ok      205 golden rows of churn@1" in ok.out
    bad = cli("deployments", "verify", "churn-api", "--endpoint", world.swapped, "--settle", "0")
    assert bad.code == 1, bad
    assert "check failed: model shift (digest): primary: the registry resolves" in bad.err
    assert "check failed: model shift (replay): " in bad.err and "Traceback" not in bad.err
    doc = cli("deployments", "verify", "churn-api", "--endpoint", world.swapped, "--settle", "0",
              "--json").json()  # fmt: skip
    assert doc["passed"] is False
    assert [(c["kind"], c["passed"]) for c in doc["checks"]] == [("digest", False),
                                                                 ("replay", False)]  # fmt: skip
    replay = doc["checks"][1]["details"]
    assert replay["rows"] == 205 and replay["different"] > len(replay["differences"]) == 20
    down = cli("deployments", "verify", "churn-api", "--endpoint",
               f"http://127.0.0.1:{free_port()}")  # fmt: skip
    assert down.code == 11 and "cannot reach the model server" in down.err, down
    assert "Traceback" not in down.err


def test_checks_recorded_on_a_monitor_alert_at_once_saying_what_and_a_pass_resolves(
    world: World, tmp_path: Path
) -> None:
    from relayml.monitoring.shift import record_shift
    from relayml.tables.parquet import write_normalized

    X, y = _data(0)
    write_normalized(X.assign(label=y), tmp_path / "train.parquet", None)
    world.backend.datasets.publish(P, "churn-train", tmp_path / "train.parquet")
    world.backend.monitors.create(P, "churn-api", name="churn-shift", window=1000,
                                  reference="churn-train@1", target="label")  # fmt: skip
    cli = Relay(world.home)
    bad = cli("deployments", "verify", "churn-api", "--endpoint", world.swapped, "--settle", "0",
              "--monitor", "churn-shift")  # fmt: skip
    assert bad.code == 1, bad
    alerts = {a.subject: a for a in world.backend.monitors.list_alerts(P, monitor="churn-shift")}
    digest, replay = alerts["digest"], alerts["replay"]
    assert digest.kind.family == replay.kind.family == "model_shift"
    assert digest.severity.value == "critical" and replay.severity.value == "warning"
    assert "primary: the registry resolves churn-api to churn@1 (sha256 " in digest.title
    assert "golden rows of churn@1 came back otherwise from " in replay.title
    assert "; first, row " in replay.title and " at registration, " in replay.title
    good = check_shift(world.backend, P, "churn-api", world.clean)
    checks = record_shift(world.backend, P, "churn-shift", good)
    assert [(c.kind.value, c.passed) for c in checks] == [("digest", True), ("replay", True)]
    assert world.backend.monitors.list_alerts(P, monitor="churn-shift") == []
