"""A training process terminated with SIGTERM still writes every metric point it logged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from relayml.domain.tracking import RunStatus
from relayml.sdk.session import connect
from tests.conftest import settings_for

TRAINER = r"""
import time, relayml as relay
relay.init(project="term")
with relay.start_run(experiment="e") as run:
    for step in range(3000):
        run.log_metric("loss", 1.0 / (step + 1), step=step)
    print(run.id, flush=True)   # 3000 points logged, most still in the buffer
    time.sleep(120)             # "training" until the scheduler terminates us
"""


def test_sigterm_flushes_buffered_metrics(tmp_path: Path) -> None:
    env = {**os.environ, "RELAY_HOME": str(tmp_path), "RELAY_USER": "trainer"}
    env.pop("RELAY_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", TRAINER], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    proc.stdout.close()
    backend = connect(settings=settings_for(tmp_path, user="trainer")).backend
    hist = backend.tracking.metric_history(run_id, "loss")
    assert [p.step for p in hist] == list(range(3000))
    assert backend.tracking.get_run(run_id).status is RunStatus.KILLED
    backend.close()


CRASHER = r"""
import relayml as relay
relay.init(project="crash")
run = relay.start_run(experiment="e")   # not in a `with`: only exit handling ends it
run.log_metric("loss", 0.5)
print(run.id, flush=True)
raise RuntimeError("training diverged")
"""


def test_a_run_left_open_by_a_crash_ends_failed_with_its_points(tmp_path: Path) -> None:
    env = {**os.environ, "RELAY_HOME": str(tmp_path), "RELAY_USER": "trainer"}
    env.pop("RELAY_DATABASE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-c", CRASHER], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1 and "training diverged" in proc.stderr
    backend = connect(settings=settings_for(tmp_path, user="trainer")).backend
    run = backend.tracking.get_run(proc.stdout.strip())
    assert run.status is RunStatus.FAILED and run.metrics == {"loss": 0.5}
    backend.close()
