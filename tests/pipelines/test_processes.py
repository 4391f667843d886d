"""A pipeline's processes end with it: a script without a `__main__` guard does not fork
without end, and SIGTERM to `relay pipelines run` kills the step worker and ends the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from relayml.domain.tracking import RunStatus
from tests.cli.conftest import admin_backend
from tests.pipelines.conftest import assert_process_exits

UNGUARDED = """
import relayml as relay

@relay.step
def one() -> int:
    return 1

@relay.pipeline
def p():
    one()

relay.pipelines.run(p)   # no `if __name__ == "__main__":` guard
"""


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(RELAY_HOME=str(home), RELAY_USER="admin", NO_COLOR="1")
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    return env


def test_a_top_level_run_in_a_step_module_is_refused_at_once(tmp_path: Path) -> None:
    (tmp_path / "etl.py").write_text(textwrap.dedent(UNGUARDED))
    home = tmp_path / ".relay"
    proc = subprocess.Popen(
        [sys.executable, "etl.py"],
        cwd=tmp_path,
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()
    with admin_backend(home) as backend:
        runs = backend.pipelines.list_runs("default", "p", 10)
        assert len(runs) == 1, "a step worker started a pipeline run of its own"
        backend_run = backend.pipelines.get_run(runs[0].id)
    step = backend_run.step("one")
    assert runs[0].status is RunStatus.FAILED
    assert step.error is not None
    assert "inside the worker of step 'one'" in step.error
    assert 'if __name__ == "__main__":' in step.error


SLOW = """
import os, time
import relayml as relay

@relay.step
def slow() -> int:
    with open(PID_FILE, "w") as fh:
        fh.write(str(os.getpid()))
    time.sleep(300)
    return 1

@relay.pipeline
def p():
    slow()
"""


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_sigterm_kills_the_step_worker_and_ends_the_run(tmp_path: Path, executor: str) -> None:
    pid_file = tmp_path / "worker.pid"
    script = f"PID_FILE = {str(pid_file)!r}\n" + textwrap.dedent(SLOW)
    (tmp_path / "etl.py").write_text(script)
    home = tmp_path / ".relay"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "relayml.cli.app",
            "pipelines",
            "run",
            "etl.py:p",
            "--executor",
            executor,
        ],
        cwd=tmp_path,
        env=_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while not (pid_file.exists() and pid_file.read_text()):
        assert proc.poll() is None, "relay pipelines run ended before its step started"
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.05)
    worker = int(pid_file.read_text())
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert_process_exits(worker, within=10, what="the step worker")
    with admin_backend(home) as backend:
        (run,) = backend.pipelines.list_runs("default", "p", 10)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and "interrupted" in run.error
