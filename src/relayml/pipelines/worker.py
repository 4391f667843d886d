"""One attempt of one step, in the process that runs it: import the step by reference, load its
inputs, call it inside the user-code boundary, save its output by reference.

Run as `python -m relayml.pipelines.worker TASK.json` by the local executor (one process per
attempt, so a timeout can kill it), or called in a Ray worker by the Ray executor. The result
is a JSON-able dict: {"ok": true, "output": {...}} or {"ok": false, "error", "traceback"}.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Any


def _user_traceback(exc: BaseException, skip: int = 1) -> str:
    """The traceback from the user's frames on: the worker's own frames are dropped."""
    tb = exc.__traceback__
    for _ in range(skip):
        if tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _failure(message: str, tb: str = "") -> dict[str, Any]:
    return {"ok": False, "error": message, "traceback": tb}


def execute(task: dict[str, Any]) -> dict[str, Any]:
    from relayml.errors import RelayError
    from relayml.pipelines import loader, outputs
    from relayml.sdk.lineage import StepContext, current_step

    for entry in reversed(task.get("sys_path") or []):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    started = time.monotonic()
    try:
        step = loader.load(task["step_ref"])
        fn = getattr(step, "fn", step)
    except RelayError as exc:
        tb = getattr(exc, "user_traceback", "")
        return _failure(f"cannot load step {task['step_ref']}: {exc.message}", tb)
    kwargs: dict[str, Any] = {}
    datasets: list[str] = []
    try:
        for name, arg in task["args"].items():
            if "literal" in arg:
                kwargs[name] = arg["literal"]
                continue
            value, ref = outputs.load({**arg["output"], "path": arg.get("path")})
            kwargs[name] = value
            if ref is not None:
                datasets.append(ref)
    except Exception as exc:
        return _failure(
            f"loading the inputs of step {task['step']!r} failed: {type(exc).__name__}: {exc}",
            traceback.format_exc(),
        )
    context = StepContext(task["pipeline_run_id"], task["step"], inputs=tuple(datasets))
    token = current_step.set(context)
    try:
        value = fn(**kwargs)
    except (Exception, SystemExit, KeyboardInterrupt) as exc:
        return _failure(f"{type(exc).__name__}: {exc}", _user_traceback(exc))
    finally:
        current_step.reset(token)
    try:
        saved = outputs.save(value, task["out_dir"])
    except RelayError as exc:
        return _failure(exc.message)
    except Exception as exc:
        return _failure(
            f"saving the output of step {task['step']!r} failed: {type(exc).__name__}: {exc}",
            traceback.format_exc(),
        )
    return {"ok": True, "output": saved, "seconds": time.monotonic() - started}


def main(argv: list[str]) -> int:
    with open(argv[0], encoding="utf-8") as fh:
        task = json.load(fh)
    os.environ.update(task.get("env") or {})
    result = execute(task)
    sys.stdout.flush()
    sys.stderr.flush()
    tmp = task["result_path"] + ".part"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    os.replace(tmp, task["result_path"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
