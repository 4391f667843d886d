"""Where tasks run: `local` (a process per attempt, the default) and `ray`."""

from __future__ import annotations

from relayml.executors.base import Attempt, Executor, Result, Task, get_executor

__all__ = ["Attempt", "Executor", "Result", "Task", "get_executor"]
