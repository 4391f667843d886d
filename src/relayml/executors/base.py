"""What an executor offers the runner: start an attempt, wait for some to finish, kill one.

A task is the JSON-able dict `relayml.pipelines.worker.execute` takes; a result is what it
returns. Executors never see user objects: inputs and outputs travel as files and references.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

from relayml.domain.pipelines import ExecutorKind, parse_executor


class Attempt(Protocol):
    def poll(self) -> dict[str, Any] | None:
        """The result once the attempt has finished, else None."""
        ...

    def kill(self) -> None: ...


class Executor(Protocol):
    name: str
    max_workers: int

    def submit(self, task: dict[str, Any]) -> Attempt: ...
    def wait(self, attempts: list[Attempt], timeout: float) -> None:
        """Return when one of `attempts` has finished or after `timeout` seconds."""
        ...

    def close(self) -> None: ...


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def get_executor(name: str, max_workers: int | None = None) -> Executor:
    if parse_executor(name) is ExecutorKind.RAY:
        from relayml.executors.ray import RayExecutor

        return RayExecutor(max_workers)
    from relayml.executors.local import LocalExecutor

    return LocalExecutor(max_workers)
