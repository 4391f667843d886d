"""`relay deployments set-target ... --wait` against a real `relay serve` on 127.0.0.1: exit 0
once the server answers from the new version; exit 1 and the deployment rolled back when the new
version never loads (its artifact corrupted in the store) or fails the smoke request (it needs a
column the smoke records lack), while the server goes on answering from the old version."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from relayml.client.base import Backend
from relayml.client.connect import open_backend
from relayml.flavors import save_model
from relayml.testing.server import free_port
from tests.cli.conftest import Relay, Result
from tests.conftest import settings_for

P = "default"


@dataclass
class World:
    home: Path
    backend: Backend
    url: str
    rows: list[dict[str, float]]

    def cli(self, *args: str) -> Result:
        return Relay(self.home)(*args)

    def answered_by(self) -> str:
        reply = httpx.post(f"{self.url}/deployments/staging/predict", json={"records": self.rows})
        assert reply.status_code == 200, reply.text
        return reply.headers["relay-model-version"]

    def follows(self, version: str, within: float = 30) -> None:
        """Wait for the server to answer from `version` (a version that refuses these rows
        may answer until it has followed the deployment)."""
        deadline = time.monotonic() + within
        while True:
            reply = httpx.post(f"{self.url}/deployments/staging/predict",
                               json={"records": self.rows})  # fmt: skip
            if reply.headers.get("relay-model-version") == version and reply.status_code == 200:
                return
            assert time.monotonic() < deadline, (reply.status_code, reply.text)
            time.sleep(0.2)


def _register(backend: Backend, home: Path, X: pd.DataFrame, y: pd.Series, c: float) -> str:
    path = home.parent / f"m{c}.skops"
    saved = save_model(LogisticRegression(C=c).fit(X, y), path, input_example=X[:3])
    assert saved.signature is not None
    return backend.models.register(
        P, "churn", path, flavor=saved.flavor.value, environment=saved.environment.to_dict(),
        signature=saved.signature.to_dict(),
    ).digest  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("rollout") / ".relay"
    backend = open_backend(settings_for(home))
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x1": rng.normal(size=200), "x2": rng.normal(size=200)})
    y = (X.x1 > X.x2).astype(int)
    _register(backend, home, X, y, 1.0)  # churn@1
    _register(backend, home, X, y, 0.1)  # churn@2
    broken = _register(backend, home, X, y, 0.01)  # churn@3: its bytes corrupted below
    _register(backend, home, X.assign(x3=1.0), y, 1.0)  # churn@4 takes a column x3
    blob = home / "artifacts" / "sha256" / broken[:2] / broken[2:]
    blob.chmod(0o644)
    blob.write_bytes(b"not the registered bytes")
    backend.deployments.create(P, "staging", "churn@1")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(RELAY_HOME=str(home), RELAY_USER="admin")
    log = home.parent / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "relayml.cli.app", "serve", "staging", "--port", str(port),
             "--poll", "0.2"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        rows = [{"x1": 0.5, "x2": -0.5}, {"x1": -1.0, "x2": 1.0}]
        yield World(home, backend, url, rows)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        backend.close()


def test_wait_returns_once_the_server_answers_from_the_new_version(world: World) -> None:
    done = world.cli("deployments", "set-target", "staging", "churn@2", "--wait", "--url",
                     world.url, "--timeout", "60")  # fmt: skip
    assert done.code == 0, done.err
    assert "ready: smoke request of 1 record(s) answered by version 2" in done.err
    assert world.answered_by() == "2"


def test_a_version_that_never_loads_fails_the_wait_and_is_rolled_back(world: World) -> None:
    before = world.answered_by()
    failed = world.cli("deployments", "set-target", "staging", "churn@3", "--wait", "--url",
                       world.url, "--timeout", "4")  # fmt: skip
    assert failed.code == 1, failed.err
    lines = failed.err.splitlines()
    assert lines[0].startswith("check failed: the model server at ")
    assert "did not serve primary v3 of staging within 4 s (it is serving primary v" in lines[0]
    assert lines[1].startswith(f"check failed: rolled staging back to churn@{before}")
    assert world.backend.deployments.get(P, "staging").target == f"churn@{before}"
    assert world.answered_by() == before  # it never stopped answering from the old version


def test_a_version_failing_the_smoke_request_is_rolled_back(world: World, tmp_path: Path) -> None:
    before = world.answered_by()
    records = tmp_path / "smoke.json"
    records.write_text(json.dumps({"records": world.rows}))  # no x3: what production sends
    failed = world.cli("deployments", "set-target", "staging", "churn@4", "--wait", "--url",
                       world.url, "--smoke", str(records), "--timeout", "60")  # fmt: skip
    assert failed.code == 1, failed.err
    assert "check failed: smoke request answered 422" in failed.err and "x3" in failed.err
    assert world.backend.deployments.get(P, "staging").target == f"churn@{before}"
    world.follows(before)  # the server follows the rollback
    ok = world.cli("deployments", "smoke", "staging", "--url", world.url, "--smoke", str(records))
    assert ok.code == 0, ok.err
    bad_flags = world.cli("deployments", "set-target", "staging", "churn@2", "--wait")
    assert bad_flags.code == 2 and "--wait needs --url" in bad_flags.err


def test_deploy_wait_on_a_server_that_does_not_serve_the_new_deployment(world: World) -> None:
    made = world.cli("deploy", "churn@2", "--name", "fresh", "--wait", "--url", world.url,
                     "--timeout", "2")  # fmt: skip
    assert made.code == 1, made.err
    assert "answered 404 to GET /deployments/fresh" in made.err
    assert "rolled" not in made.err  # a new deployment has nothing to roll back to
    assert world.backend.deployments.get(P, "fresh").target == "churn@2"  # the record stays
