"""Open runs heartbeat, so a run whose process dies hard reads as `lost` instead of `running`
forever (issue 9 item 7), in the CLI, the SDK and REST; its owner then ends it.

The processes here are real and killed with SIGKILL (no exit handler runs). Heartbeats come
every 0.25 s (RELAY_HEARTBEAT_INTERVAL) and readers call a run lost after 4 s of silence
(RELAY_RUN_LOST_AFTER), instead of 30 s and 5 minutes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import relayml as relay
from relayml.domain.tracking import RunStatus
from relayml.testing.server import running_server
from tests.cli.conftest import Relay
from tests.processes import no_process_outlives

LOST_AFTER = 4.0
FAST = {"RELAY_HEARTBEAT_INTERVAL": "0.25", "RELAY_RUN_LOST_AFTER": str(LOST_AFTER)}

# An open run that logs nothing for a long while (a long epoch, a slow data load): only its
# heartbeat says it is alive.
IDLE_RUN = r"""
import sys, time, relayml as relay
relay.init(project=sys.argv[1])
run = relay.start_run(experiment="e")
run.log_metric("loss", 0.5)
run.flush()
print(run.id, flush=True)
while True:
    time.sleep(0.05)
"""


@contextmanager
def idle_run(env: dict[str, str], project: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A process holding an open run; yields its run id. It is SIGKILLed at the latest on exit,
    and nothing it started may outlive the test."""
    with no_process_outlives():
        proc = subprocess.Popen(
            [sys.executable, "-c", IDLE_RUN, project],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            run_id = proc.stdout.readline().strip()
            assert len(run_id) == 32, f"the run did not start (exit {proc.poll()})"
            yield run_id, proc
        finally:
            proc.kill()
            proc.wait(timeout=30)
            if proc.stdout:
                proc.stdout.close()


def wait_for(status: Callable[[], str], wanted: str, within: float) -> None:
    deadline = time.monotonic() + within
    seen = status()
    while seen != wanted and time.monotonic() < deadline:
        time.sleep(0.2)
        seen = status()
    assert seen == wanted, f"still {seen!r} after {within} s"


def _show(relay_cli: Relay, run_id: str) -> str:
    shown = relay_cli("runs", "show", run_id, "--json")
    assert shown.code == 0, shown.err
    status: str = shown.json()["status"]
    return status


def test_a_run_killed_hard_reads_lost_in_the_cli_and_sdk_and_can_be_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / ".relay"
    cli = Relay(home)
    cli.env.update(FAST, RELAY_PROJECT="lab")
    assert cli("projects", "create", "lab").code == 0
    with idle_run(cli.env, "lab") as (run_id, proc):
        time.sleep(LOST_AFTER * 1.5)  # silent but for heartbeats, longer than the timeout
        assert _show(cli, run_id) == "running"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    wait_for(lambda: _show(cli, run_id), "lost", within=LOST_AFTER * 4)

    listed = cli("runs", "ls", "--json").json()
    assert [(r["id"], r["status"]) for r in listed] == [(run_id, "lost")]
    assert [r["id"] for r in cli("runs", "ls", "--filter", "status = 'lost'", "--json").json()] == [
        run_id
    ]
    assert cli("runs", "ls", "--filter", "status = 'running'", "--json").json() == []
    shown = cli("runs", "show", run_id)
    assert "lost" in shown.out and f"relay runs end {run_id}" in shown.out
    # With the default timeout (5 minutes) the same run still reads as running.
    assert _show(Relay(home), run_id) == "running"

    # The SDK sees it too.
    for var in ("RELAY_DATABASE_URL", "RELAY_ARTIFACT_URI", "RELAY_SERVER_URL", "RELAY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RELAY_HOME", str(home))
    monkeypatch.setenv("RELAY_RUN_LOST_AFTER", str(LOST_AFTER))
    assert relay.get_run(run_id).status is RunStatus.LOST

    # `lost` is a view, not an end: the run is closed explicitly, and stays closed.
    refused = cli("runs", "end", run_id, "--status", "lost")
    assert refused.code == 2 and "finished, failed or killed, not lost" in refused.err
    ended = cli("runs", "end", run_id, "--status", "failed", "--json")
    assert ended.code == 0, ended.err
    assert ended.json()["status"] == "failed"
    assert _show(cli, run_id) == "failed"
    assert cli("runs", "show", run_id, "--json").json()["metrics"] == {"loss": 0.5}


def test_a_run_killed_hard_reads_lost_over_rest(tmp_path: Path) -> None:
    project = f"p-{uuid.uuid4().hex[:8]}"
    with running_server(tmp_path / "server", env={"RELAY_RUN_LOST_AFTER": str(LOST_AFTER)}) as info:
        headers = {"Authorization": f"Bearer {info.admin_token}"}
        with httpx.Client(base_url=info.url, headers=headers, timeout=30) as api:
            assert api.post("/api/v1/projects", json={"name": project}).status_code == 201
            env = {**os.environ, **FAST, "RELAY_SERVER_URL": info.url}
            env["RELAY_TOKEN"] = info.admin_token

            def status() -> str:
                r = api.get(f"/api/v1/runs/{run_id}")
                assert r.status_code == 200, r.text
                value: str = r.json()["status"]
                return value

            with idle_run(env, project) as (run_id, proc):
                time.sleep(LOST_AFTER * 1.5)
                assert status() == "running"
                beat = api.get(f"/api/v1/runs/{run_id}").json()["last_heartbeat"]
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
            wait_for(status, "lost", within=LOST_AFTER * 4)
            run = api.get(f"/api/v1/runs/{run_id}").json()
            assert run["last_heartbeat"] >= beat and run["end_time"] is None
            page = api.get(f"/api/v1/projects/{project}/runs", params={"filter": "status = 'lost'"})
            assert [r["id"] for r in page.json()["runs"]] == [run_id]

            # An empty batch is a heartbeat: the run reads as running again.
            assert api.post(f"/api/v1/runs/{run_id}/batch", json={}).json() == {"written": 0}
            assert status() == "running"

            ended = api.post(f"/api/v1/runs/{run_id}/end", json={"status": "killed"})
            assert ended.status_code == 200, ended.text
            assert ended.json()["status"] == "killed"
            wait_for(status, "killed", within=0)
