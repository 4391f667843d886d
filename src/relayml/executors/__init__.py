"""Where pipeline steps run: `local` (a process per attempt, the default) and `ray`."""

from __future__ import annotations

from relayml.executors.base import Attempt, Executor, get_executor

__all__ = ["Attempt", "Executor", "get_executor"]
