"""Ids and the access log: prediction and request ids, and one JSON line per request.

Ids are 32 hex digits, time-ordered like a UUIDv7 (the first 12 are milliseconds since the
epoch, the other 20 random), so a prediction log sorted by id is sorted by time. A caller's
``X-Request-Id`` (at most 128 printable ASCII characters) is kept; otherwise the request gets
a fresh id. Access-log lines are buffered and written to stderr a few times a second (and at
shutdown), so a request never waits on a write.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, TextIO

import orjson

MAX_REQUEST_ID = 128


def new_id() -> str:
    return f"{int(time.time() * 1000):012x}{os.urandom(10).hex()}"


def new_ids(n: int) -> list[str]:
    if n == 1:
        return [new_id()]
    ms = f"{int(time.time() * 1000):012x}"
    raw = os.urandom(10 * n).hex()
    return [ms + raw[i * 20 : (i + 1) * 20] for i in range(n)]


def request_id(given: bytes | None) -> str:
    """The caller's ``X-Request-Id`` if it is usable, else a new one."""
    if given and len(given) <= MAX_REQUEST_ID and all(32 < b < 127 for b in given):
        return given.decode("ascii")
    return new_id()


class AccessLog:
    """JSON lines, buffered; ``flush`` writes them (called on a timer and at shutdown)."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.enabled = enabled
        self._stream = stream
        self._lines: list[bytes] = []
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        if self.enabled:
            self._lines.append(orjson.dumps(record))

    def flush(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
            if not lines:
                return
            stream = self._stream or sys.stderr
            try:
                stream.write(b"\n".join(lines).decode() + "\n")
                stream.flush()
            except (OSError, ValueError):
                pass  # stderr closed: access logs are best effort, answers are not
