"""Run the real `relay` CLI in a subprocess against a fresh RELAY_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from relayml.client.base import Backend
from relayml.domain.tracking import MetricPoint

CLEARED = (
    "RELAY_SERVER_URL",
    "RELAY_TOKEN",
    "RELAY_DATABASE_URL",
    "RELAY_ARTIFACT_URI",
    "RELAY_PROJECT",
    "RELAY_DEBUG",
    "COLUMNS",
)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Relay:
    """`relay(...)` runs `python -m relayml.cli.app ...` in `home`'s parent directory."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        self.env.update(RELAY_HOME=str(home), RELAY_USER="admin", NO_COLOR="1")

    def __call__(self, *args: str, timeout: float = 120, **env: str) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "relayml.cli.app", *args],
            cwd=self.home.parent,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def token_from(self, result: Result) -> str:
        tokens = [line for line in result.out.splitlines() if line.startswith("rly_")]
        assert len(tokens) == 1, result.out
        return tokens[0]


@contextmanager
def admin_backend(home: Path) -> Iterator[Backend]:
    """The embedded backend the CLI uses, as its local admin, in this process."""
    from relayml.config import Settings
    from relayml.sdk.session import connect

    settings = Settings(
        home=home,
        database_url=f"sqlite:///{home / 'relay.db'}",
        artifact_uri=str(home / "artifacts"),
        server_url=None,
        token=None,
        user="admin",
    )
    session = connect(settings=settings)
    try:
        yield session.backend
    finally:
        session.backend.close()


@pytest.fixture
def relay(tmp_path: Path) -> Relay:
    return Relay(tmp_path / ".relay")


@dataclass
class Seeded:
    relay: Relay
    run_a: str
    run_b: str


@pytest.fixture
def seeded(relay: Relay, tmp_path: Path) -> Seeded:
    """Two finished runs in experiment 'exp' of the default project, one with an artifact."""
    with admin_backend(relay.home) as backend:
        ids = []
        for name, c, acc in (("lr-small", "0.1", 0.91), ("lr-big", "10", 0.87)):
            run = backend.tracking.create_run(
                project="default",
                experiment="exp",
                name=name,
                params={"C": c, "solver": "lbfgs"},
                tags={"team": "risk"},
            )
            points = [
                MetricPoint("loss", 1.0 / (s + 1), s, 1_700_000_000_000 + s) for s in range(5)
            ]
            points.append(MetricPoint("acc", acc, 0, 1_700_000_000_000))
            backend.tracking.log_batch(run.id, metrics=points)
            ids.append(run.id)
        notes = tmp_path / "notes.txt"
        notes.write_text("hello from run a\n")
        backend.artifacts.log_artifact(ids[0], "notes.txt", notes)
        for run_id in ids:
            backend.tracking.end_run(run_id)
    return Seeded(relay, ids[0], ids[1])


def one_error_line(result: Result) -> str:
    """The CLI's contract for user errors: `error: ...`, no traceback, nothing on stdout."""
    assert "Traceback" not in result.err, result.err
    assert result.err.startswith("error: "), result.err
    assert result.out == ""
    return result.err
