"""Denied attempts, kept as evidence without letting a client flood the audit trail.

The first denial of a (user, action, project, entity) in a window of `WINDOW` seconds is
written at once, as it always was. Repeats within the window are counted in memory, and
written as one event carrying the count (`count` > 1) when the key is next denied after the
window, on any denial once the window is over, or when the services close. So N identical
denials cost at most one event per window and a summary, and the trail still says how many
there were. A process killed hard loses the counts of its open windows (their first
denial is always written).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

WINDOW = 60.0
Key = tuple[str, str, str, str, str]


def _key(record: dict[str, Any]) -> Key:
    return (
        record["actor"],
        record["action"],
        record["project"],
        record["entity_kind"],
        record["entity_id"],
    )


class DenialLimiter:
    def __init__(self, window: float = WINDOW, clock: Callable[[], float] = time.monotonic):
        self.window = window
        self.clock = clock
        self._lock = threading.Lock()
        # key -> [window start, the first record, repeats not yet written]
        self._open: dict[Key, list[Any]] = {}

    def admit(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The audit records to write for this denial: itself if it opens a window (nothing
        if it repeats one), plus a count record for every window that is over."""
        now = self.clock()
        with self._lock:
            due = self._close_expired(now)
            key = _key(record)
            entry = self._open.get(key)
            if entry is None:
                self._open[key] = [now, record, 0]
                return [*due, record]
            entry[2] += 1
            return due

    def flush(self) -> list[dict[str, Any]]:
        """The count records of every open window (at shutdown)."""
        with self._lock:
            due = [_summary(e) for e in self._open.values() if e[2]]
            self._open.clear()
            return due

    def _close_expired(self, now: float) -> list[dict[str, Any]]:
        expired = [k for k, e in self._open.items() if now - e[0] >= self.window]
        return [_summary(e) for k in expired if (e := self._open.pop(k))[2]]


def _summary(entry: list[Any]) -> dict[str, Any]:
    return {**entry[1], "count": entry[2]}
