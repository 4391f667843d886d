"""The local executor runs whatever entry point a task names, in a process of its own: it knows
nothing of pipelines, and every way an attempt can end comes back as a typed Result."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

from relayml.executors import Result, Task, get_executor

ENTRIES = """
import os
from relayml.executors import Result

def double(payload):
    print("doubling", payload["n"])
    return Result(ok=True, value={"n": payload["n"] * 2, "env": os.environ["TASK_ENV"]})

def broken(payload):
    raise ValueError("no good")

def not_a_result(payload):
    return {"ok": True}
"""


def run(tmp_path: Path, entry: str, payload: dict[str, object] | None = None) -> Result:
    (tmp_path / "entries_mod.py").write_text(textwrap.dedent(ENTRIES))
    name = entry.replace(":", "-")
    task = Task(
        entry=entry,
        payload=payload or {},
        log_path=str(tmp_path / f"{name}.log"),
        result_path=str(tmp_path / f"{name}.result.json"),
        env={"TASK_ENV": "set"},
        sys_path=(str(tmp_path),),
    )
    executor = get_executor("local", 1)
    attempt = executor.submit(task)
    deadline = time.monotonic() + 60
    while (result := attempt.poll()) is None and time.monotonic() < deadline:
        executor.wait([attempt], 1.0)
    executor.close()
    assert result is not None
    return result


def test_the_task_names_its_entry_point_and_gets_a_typed_result(tmp_path: Path) -> None:
    result = run(tmp_path, "entries_mod:double", {"n": 21})
    assert result.ok and result.value == {"n": 42, "env": "set"}
    assert (tmp_path / "entries_mod-double.log").read_text() == "doubling 21\n"


def test_an_entry_point_that_fails_is_a_failed_result(tmp_path: Path) -> None:
    raised = run(tmp_path, "entries_mod:broken")
    assert not raised.ok and "ValueError: no good" in raised.error
    assert "no good" in raised.traceback
    missing = run(tmp_path, "entries_mod:nowhere")
    assert not missing.ok and "cannot import the entry point 'entries_mod:nowhere'" in missing.error
    wrong = run(tmp_path, "entries_mod:not_a_result")
    assert not wrong.ok and "not a Result" in wrong.error
