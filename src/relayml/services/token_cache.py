"""Who a token belongs to, remembered for a few seconds: most requests then read no database.

The staleness bound is the TTL (default 5 s, RELAY_AUTH_CACHE_SECONDS; 0 turns the cache off):
a token revoked, a user deactivated or stripped of every role through another server process is
refused by this one at most that long afterwards. A change made through this process clears the
cache at once. An entry never outlives its token's own expiry. The roles a principal holds are
not taken from here for permission checks: services read them in the transaction that acts.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from relayml.domain.identity import Principal

DEFAULT_TTL_SECONDS = 5.0
DEFAULT_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class _Entry:
    principal: Principal
    fresh_until: float  # on the monotonic clock
    token_expires_at: datetime | None


class TokenCache:
    """token hash → Principal, for at most `ttl` seconds and `max_entries` tokens (the oldest
    entry goes first); safe to share between the server's threads."""

    def __init__(
        self,
        ttl: float = DEFAULT_TTL_SECONDS,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl < 0 or max_entries < 1:
            raise ValueError(f"a token cache needs ttl >= 0 and max_entries >= 1 ({ttl=})")
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token_hash: str) -> Principal | None:
        if self.ttl == 0:
            return None
        with self._lock:
            entry = self._entries.get(token_hash)
            if entry is None:
                return None
            expired = entry.token_expires_at is not None and entry.token_expires_at <= _now()
            if expired or entry.fresh_until <= self._clock():
                del self._entries[token_hash]
                return None
            return entry.principal

    def put(self, token_hash: str, principal: Principal, token_expires_at: datetime | None) -> None:
        if self.ttl == 0:
            return
        entry = _Entry(principal, self._clock() + self.ttl, token_expires_at)
        with self._lock:
            self._entries.pop(token_hash, None)
            self._entries[token_hash] = entry
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _now() -> datetime:
    return datetime.now(UTC)
