"""What an executor offers the runner: start an attempt, wait for some to finish, kill one.

An attempt runs a `Task`: the function its `entry` names ("package.module:function"), imported
in the process that runs it and called with the task's JSON-able `payload`, returns a `Result`.
Executors know nothing of what they run (pipelines hand them their worker's entry point), and
never see user objects: inputs and outputs travel as files and references.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from relayml.domain.pipelines import ExecutorKind, parse_executor


@dataclass(frozen=True)
class Task:
    """One attempt to run: `entry(payload)`, its output to `log_path`, its Result to
    `result_path` (for executors that run it in another process)."""

    entry: str  # "package.module:function", called with `payload`, returning a Result
    payload: dict[str, Any]  # JSON-able
    log_path: str
    result_path: str
    env: dict[str, str] = field(default_factory=dict)  # set while the attempt runs
    sys_path: tuple[str, ...] = ()  # put in front of sys.path, so user modules import

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "sys_path": list(self.sys_path)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Task:
        return cls(**{**d, "sys_path": tuple(d.get("sys_path") or ())})


@dataclass(frozen=True)
class Result:
    """How an attempt ended: `value` (JSON-able) when ok, else an error and its traceback."""

    ok: bool
    value: Any = None
    error: str = ""
    traceback: str = ""
    seconds: float = 0.0

    @classmethod
    def failure(cls, error: str, traceback: str = "") -> Result:
        return cls(ok=False, error=error, traceback=traceback)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Result:
        return cls(**d)


class Attempt(Protocol):
    def poll(self) -> Result | None:
        """The result once the attempt has finished, else None."""
        ...

    def kill(self) -> None: ...


class Executor(Protocol):
    name: str
    max_workers: int

    def submit(self, task: Task) -> Attempt: ...
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
