"""`relay monitors run` run continuously drives the loops in a worker thread of its own: while a
loop's retraining pipeline runs, the passes go on processing the monitor; stopped mid-pipeline
(the `stop` event, or SIGTERM to the real command), the runner cancels the pipeline, whose run
is recorded as ended (killed, its step's process gone), and the loop run waits for the next
runner, which starts the pipeline again and carries the run on to governance."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from relayml import loops
from relayml.domain.loops import LoopRun, LoopState, StepKind
from relayml.domain.tracking import RunStatus
from relayml.monitoring import runner
from relayml.pipelines.runner import register
from tests.monitoring.conftest import PIPELINE, Loop
from tests.monitors.conftest import P
from tests.pipelines.conftest import assert_process_exits

HOLD = """
    hold = os.environ.get("LOOP_TEST_HOLD")
    if hold:
        pathlib.Path(hold + ".pid").write_text(str(os.getpid()))
    until = time.monotonic() + 120  # held while the file exists: the test decides how long
    while hold and os.path.exists(hold) and time.monotonic() < until:
        time.sleep(0.05)
"""


def _held_pipeline(closed: Loop, tmp_path: Path) -> Path:
    """Re-register the loop's pipeline with a step held while the returned file exists."""
    code = textwrap.dedent(PIPELINE).replace(
        "-> str:\n", "-> str:\n" + textwrap.indent(textwrap.dedent(HOLD), "    "), 1
    )
    module = tmp_path / "held.py"
    module.write_text("import os\nimport pathlib\nimport time\n" + code)
    register(closed.served.backend, f"{module}:retrain", P)
    hold = tmp_path / "hold"
    hold.touch()
    return hold


def _until(what: str, ok: Callable[[], bool], alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not ok():
        assert alive(), f"the runner ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within 60 s"
        time.sleep(0.05)


def _left_for_the_next_runner(closed: Loop, run: LoopRun, hold: Path) -> None:
    """The run's pipeline run ended killed and its step's process is gone; the loop run waits
    for a runner to start the pipeline again."""
    b = closed.served.backend
    left = b.loops.get_run(run.id)
    started = next(s for s in left.steps if s.kind is StepKind.PIPELINE_STARTED)
    prun = b.pipelines.get_run(started.detail["pipeline_run"])
    assert prun.status is RunStatus.KILLED and prun.ended_at is not None, prun.error
    assert "cancelled by its runner" in (prun.error or "")
    assert_process_exits(int(Path(f"{hold}.pid").read_text()), within=10, what="the step")
    assert left.state is LoopState.TRIGGERED and left.pipeline_run is None
    assert left.steps[-1].kind is StepKind.PIPELINE_ABANDONED
    assert "stopped with its runner" in left.steps[-1].text


def test_passes_go_on_while_the_loop_trains_and_a_stop_cancels_the_pipeline(
    closed: Loop, tmp_path: Path
) -> None:
    b = closed.served.backend
    hold = _held_pipeline(closed, tmp_path)
    run = b.loops.start(P, "retrain", "scorecard drifted")
    passes: list[runner.Outcome] = []
    said: list[runner.LoopsOutcome] = []
    stop = threading.Event()
    env = {**closed.env, "LOOP_TEST_HOLD": str(hold)}
    serving = threading.Thread(
        target=runner.serve, args=(b,),
        kwargs={"project": P, "interval": 0.2, "env": env, "report": passes.append,
                "on_loops": said.append, "stop": stop},
    )  # fmt: skip
    serving.start()
    try:
        _until("a step running", Path(f"{hold}.pid").exists, serving.is_alive)
        before = len(passes)
        # the pipeline is held, yet the monitor is processed pass after pass meanwhile
        _until("three more passes", lambda: len(passes) >= before + 3, serving.is_alive)
        assert b.loops.get_run(run.id).state is LoopState.TRAINING
        assert all(o.error is None and o.result is not None for o in passes)
    finally:
        stop.set()
        serving.join(60)
    assert not serving.is_alive()
    _left_for_the_next_runner(closed, run, hold)
    assert any(t.run.id == run.id for o in said for t in o.turns)
    hold.unlink()
    loops.tick(b, P, env=closed.env)  # the next runner starts it again, to governance
    after = b.loops.get_run(run.id)
    assert after.state is LoopState.AWAITING_APPROVAL, after.steps[-1].text
    assert after.attempts == 2 and after.candidate == "scorecard@2"


def _sigterm_mid_pipeline(
    closed: Loop, tmp_path: Path, args: list[str], ready: Callable[[Path], bool] | None = None
) -> None:
    """Start `relay ARGS -p P` on a loop run whose pipeline holds its step, SIGTERM it once the
    step runs (and `ready(log)`), and check it exits 143 leaving the run for the next runner."""
    b = closed.served.backend
    hold = _held_pipeline(closed, tmp_path)
    run = b.loops.start(P, "retrain", "scorecard drifted")
    env = {**os.environ, **closed.env, "LOOP_TEST_HOLD": str(hold)}
    out = tmp_path / "runner.log"
    with out.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from relayml.cli.app import main; main()", *args, "-p", P],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            alive = lambda: proc.poll() is None  # noqa: E731
            _until("a step running", Path(f"{hold}.pid").exists, alive)
            if ready is not None:
                _until("the runner ready", lambda: ready(out), alive)
            proc.send_signal(signal.SIGTERM)  # to the runner only, as a supervisor does
            code = proc.wait(60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    assert code == 128 + signal.SIGTERM, out.read_text()
    _left_for_the_next_runner(closed, run, hold)


def test_sigterm_to_the_runner_cancels_the_pipeline_under_way(closed: Loop, tmp_path: Path) -> None:
    passes: list[int] = []

    def three_more_passes(log: Path) -> bool:
        # passes go on while the step is held: three more after it started
        passes.append(log.read_text().count(f"{P}/scorecard-api: "))
        return passes[-1] >= passes[0] + 3

    _sigterm_mid_pipeline(
        closed, tmp_path, ["monitors", "run", "--interval", "0.2"], three_more_passes
    )


@pytest.mark.parametrize(
    "args",
    [
        ["loops", "run", "--interval", "0.2"],
        ["loops", "run", "--once"],
        ["monitors", "run", "--once"],
    ],
    ids=["loops run", "loops run --once", "monitors run --once"],
)
def test_sigterm_to_a_runner_of_one_pass_or_loops_cancels_the_pipeline_under_way(
    closed: Loop, tmp_path: Path, args: list[str]
) -> None:
    """`relay loops run` (and `--once`, and `relay monitors run --once`) drive the loops in a
    worker thread: SIGTERM to it cancels the pipeline under way as the monitors' runner does
    (killed, the loop run waiting for the next runner), instead of the pipeline run recorded
    failed and the loop run with it."""
    _sigterm_mid_pipeline(closed, tmp_path, args)
