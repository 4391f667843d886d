"""Running pipelines on the local executor: outputs by reference, caching, retries, timeouts,
failures inside the user-code boundary."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from relayml.client.base import Backend
from relayml.domain.pipelines import PipelineRun, StepStatus
from relayml.domain.tracking import RunStatus
from relayml.errors import UserCodeError
from relayml.pipelines.runner import run_pipeline
from tests.pipelines.conftest import WriteModule, assert_process_exits

BRANCHES = """
import relayml as relay

@relay.step
def left(n: int) -> list[int]:
    return list(range(n))

@relay.step
def right(k: int) -> int:
    return k * 2

@relay.step
def combine(xs: list[int], y: int) -> int:
    return sum(xs) + y

@relay.step
def report(xs: list[int]) -> str:
    return f"{len(xs)} rows"

@relay.pipeline
def branches(n: int = 3, k: int = 1):
    xs = left(n)
    combine(xs, right(k))
    report(xs)
"""


def _states(run: object) -> dict[str, str]:
    return {s.name: s.status.value for s in run.steps}  # type: ignore[attr-defined]


def test_caching_skips_unchanged_steps_and_reruns_what_a_param_reaches(
    backend: Backend, write_module: WriteModule
) -> None:
    ref = write_module(BRANCHES) + ":branches"
    first = run_pipeline(backend, ref, project="etl")
    assert first.status is RunStatus.FINISHED
    assert set(_states(first).values()) == {"finished"}
    combined = first.step("combine").output
    assert combined is not None
    assert combined.value == 0 + 1 + 2 + 2

    second = run_pipeline(backend, ref, project="etl")
    assert set(_states(second).values()) == {"cached"}
    assert second.step("combine").output == first.step("combine").output
    assert second.step("left").cache_key == first.step("left").cache_key

    changed = run_pipeline(backend, ref, project="etl", params={"k": 5})
    assert _states(changed) == {
        "left": "cached",
        "right": "finished",
        "combine": "finished",
        "report": "cached",
    }
    assert changed.step("combine").output.value == 3 + 10  # type: ignore[union-attr]

    forced = run_pipeline(backend, ref, project="etl", no_cache=True)
    assert set(_states(forced).values()) == {"finished"}


KINDS = """
import pathlib, tempfile
import pandas as pd
import pyarrow as pa
import relayml as relay
from relayml.sdk.lineage import current_step

@relay.step
def table(n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": range(n)})

@relay.step
def doubled(df: pd.DataFrame) -> pa.Table:
    assert isinstance(df, pd.DataFrame), type(df)
    return pa.Table.from_pandas(df.assign(y=df.x * 2), preserve_index=False)

@relay.step
def to_file(t: pa.Table) -> pathlib.Path:
    path = pathlib.Path(tempfile.mkdtemp()) / "summary.txt"
    path.write_text(f"rows={t.num_rows}")
    return path

@relay.step
def context(f: pathlib.Path) -> dict:
    ctx = current_step.get()
    return {"step": ctx.step, "run": ctx.pipeline_run_id, "file": f.name, "text": f.read_text()}

@relay.pipeline
def kinds(n: int = 4):
    context(to_file(doubled(table(n))))
"""


def test_tables_files_and_values_pass_by_reference(
    backend: Backend, write_module: WriteModule, tmp_path: Path
) -> None:
    import pyarrow as pa

    from relayml.pipelines import outputs

    run = run_pipeline(backend, write_module(KINDS) + ":kinds", project="etl")
    assert run.status is RunStatus.FINISHED, run.error
    table_out = run.step("table").output
    assert table_out is not None and table_out.kind == "table" and table_out.format == "pandas"
    assert run.step("to_file").output.kind == "file"  # type: ignore[union-attr]
    assert run.step("context").output.value == {  # type: ignore[union-attr]
        "step": "context",
        "run": run.id,
        "file": "summary.txt",
        "text": "rows=4",
    }
    dest = tmp_path / "d.parquet"
    doubled = run.step("doubled").output
    assert doubled is not None
    backend.pipelines.download_blob(run.id, doubled.digest, dest)
    value, _ = outputs.load(doubled, str(dest))
    assert isinstance(value, pa.Table) and value.column("y").to_pylist() == [0, 2, 4, 6]


RETRIES = """
import pathlib, time
import relayml as relay

@relay.step(retries=2, backoff=0.05)
def flaky(counter: str) -> int:
    path = pathlib.Path(counter)
    tries = len(path.read_text().splitlines()) + 1 if path.exists() else 1
    path.write_text("x\\n" * tries)
    print(f"try {tries}")
    if tries < 3:
        raise ConnectionError(f"upstream not ready (try {tries})")
    return tries

@relay.step(timeout="1s")
def slow(pidfile: str) -> int:
    import os
    pathlib.Path(pidfile).write_text(str(os.getpid()))
    time.sleep(600)
    return 1

@relay.pipeline
def retrying(counter: str = ""):
    flaky(counter)

@relay.pipeline
def sleepy(pidfile: str = ""):
    slow(pidfile)
"""


def test_retries_with_backoff_until_success(
    backend: Backend, write_module: WriteModule, tmp_path: Path
) -> None:
    ref = write_module(RETRIES) + ":retrying"
    run = run_pipeline(backend, ref, project="etl", params={"counter": str(tmp_path / "n")})
    step = run.step("flaky")
    assert step.status is StepStatus.FINISHED and step.attempts == 3
    assert step.output is not None and step.output.value == 3
    from relayml.pipelines import logs  # noqa: F401  (the SDK reads the same blob)

    log = tmp_path / "log"
    backend.pipelines.download_blob(run.id, step.logs_digest or "", log)
    text = log.read_text()
    assert "try 1" in text and "try 3" in text
    assert "attempt 1 failed: ConnectionError: upstream not ready (try 1)" in text


def test_a_step_over_its_timeout_is_killed(
    backend: Backend, write_module: WriteModule, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pid"
    started = time.monotonic()
    run = run_pipeline(
        backend, write_module(RETRIES) + ":sleepy", project="etl", params={"pidfile": str(pidfile)}
    )
    # killed at its timeout, not waited for: far below the step's 600 s sleep, and far above
    # what a slow machine needs for the 1 s timeout (no tight wall-clock bound)
    assert time.monotonic() - started < 300
    step = run.step("slow")
    assert step.status is StepStatus.FAILED and run.status is RunStatus.FAILED
    assert "longer than its timeout of 1 s and was killed" in (step.error or "")
    assert_process_exits(int(pidfile.read_text()), within=5, what="the step's process")


NAPPING = """
import os
import pathlib
import time

import relayml as relay

@relay.step(cache=False)
def nap(pidfile: str) -> int:
    pathlib.Path(pidfile).write_text(str(os.getpid()))
    time.sleep(600)
    return 1

@relay.pipeline
def napping(pidfile: str = ""):
    nap(pidfile)
"""


def test_a_run_cancelled_from_another_thread_kills_its_steps_and_ends_killed(
    backend: Backend, write_module: WriteModule, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pid"
    cancel = threading.Event()
    done: list[PipelineRun] = []
    worker = threading.Thread(
        target=lambda: done.append(run_pipeline(
            backend, write_module(NAPPING) + ":napping", project="etl",
            params={"pidfile": str(pidfile)}, cancel=cancel,
        ))
    )  # fmt: skip
    worker.start()
    deadline = time.monotonic() + 60
    while not pidfile.exists() or not pidfile.read_text():  # the step is running
        assert worker.is_alive() and time.monotonic() < deadline
        time.sleep(0.05)
    cancel.set()
    worker.join(60)
    assert not worker.is_alive()
    (run,) = done
    assert run.status is RunStatus.KILLED and run.ended_at is not None
    assert "cancelled by its runner" in (run.error or "")
    assert backend.pipelines.get_run(run.id).status is RunStatus.KILLED
    assert run.step("nap").status is not StepStatus.FINISHED
    assert_process_exits(int(pidfile.read_text()), within=5, what="the step's process")


FRAGILE = """
import relayml as relay

@relay.step
def source() -> list[int]:
    return [1, 2, 3]

@relay.step
def explode(xs: list[int]) -> int:
    lookup = {"a": 1}
    return lookup["missing"] + len(xs)

@relay.step
def after(x: int) -> int:
    return x

@relay.step
def fine(xs: list[int]) -> int:
    return len(xs)

@relay.pipeline
def fragile():
    xs = source()
    after(explode(xs))
    fine(xs)
"""


def test_a_failing_step_is_the_users_error_and_independent_steps_finish(
    backend: Backend, write_module: WriteModule
) -> None:
    path = write_module(FRAGILE)
    run = run_pipeline(backend, path + ":fragile", project="etl")
    assert run.status is RunStatus.FAILED
    assert _states(run) == {
        "source": "finished",
        "explode": "failed",
        "after": "skipped",
        "fine": "finished",
    }
    assert run.step("fine").output.value == 3  # type: ignore[union-attr]
    assert "upstream step explode" in (run.step("after").error or "")
    assert run.step("explode").error == "KeyError: 'missing'"
    with pytest.raises(UserCodeError) as caught:
        run.raise_for_status()
    tb = caught.value.user_traceback
    assert f'File "{path}", line 11, in explode' in tb
    assert 'return lookup["missing"] + len(xs)' in tb
    assert "relayml/pipelines/worker.py" not in tb  # the user's frames only
    assert caught.value.details["failed_steps"] == ["explode"]
