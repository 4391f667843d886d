"""Calling a task's entry point where the attempt runs: in a process of its own
(`python -m relayml.executors.entry TASK.json`, the local executor) or in a Ray worker."""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback

from relayml.executors.base import Result, Task


def call(task: Task) -> Result:
    """Import `task.entry` and call it with the payload; anything but a Result back is a
    failed Result, so the runner always learns how the attempt ended."""
    for entry in reversed(task.sys_path):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    module, _, name = task.entry.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        return Result.failure(
            f"cannot import the entry point {task.entry!r}: {type(exc).__name__}: {exc}",
            traceback.format_exc(),
        )
    try:
        result = fn(task.payload)
    except Exception as exc:
        return Result.failure(
            f"the entry point {task.entry!r} failed: {type(exc).__name__}: {exc}",
            traceback.format_exc(),
        )
    if not isinstance(result, Result):
        return Result.failure(f"the entry point {task.entry!r} returned {result!r}, not a Result")
    return result


def main(argv: list[str]) -> int:
    with open(argv[0], encoding="utf-8") as fh:
        task = Task.from_json(json.load(fh))
    os.environ.update(task.env)
    result = call(task)
    sys.stdout.flush()
    sys.stderr.flush()
    tmp = task.result_path + ".part"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(result.to_json(), fh)
    os.replace(tmp, task.result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
