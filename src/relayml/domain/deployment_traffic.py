"""A deployment's live traffic, as read from its prediction log: requests per minute for each
arm and each arm's latency (`relay deployments traffic`, the UI's deployment page). Counted by
`stats.traffic`, read by `services.deployment_traffic`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from relayml.errors import InvalidInput

MAX_MINUTES = 24 * 60


@dataclass(frozen=True)
class ArmLatency:
    """One arm and model version over the window: its requests and their latencies."""

    arm: str
    version: int
    requests: int
    rows: int
    latency_ms: dict[str, float]  # p50, p95, p99 over requests; NaN when it has none


@dataclass(frozen=True)
class Traffic:
    """Requests per minute per arm, and latency per arm and version, over `minutes` minutes
    from `start` (the last minute is the one in progress at `as_of`)."""

    start: datetime
    minutes: int
    as_of: datetime
    per_minute: dict[str, tuple[int, ...]]  # arm -> requests answered in each minute
    arms: tuple[ArmLatency, ...]
    requests: int
    rows: int
    segments: int = 0  # prediction-log segments holding rows of the window
    segments_read: int = 0  # the newest of them, read (a page reads a bounded number)
    rows_unread: int = 0  # rows in the segments left unread

    @property
    def complete(self) -> bool:
        return self.segments_read == self.segments

    @property
    def starts(self) -> list[datetime]:
        """The start of each minute, oldest first."""
        return [self.start + timedelta(minutes=i) for i in range(self.minutes)]

    @property
    def totals(self) -> list[int]:
        """Requests in each minute over every arm."""
        return [sum(counts[i] for counts in self.per_minute.values()) for i in range(self.minutes)]

    @property
    def peak(self) -> int:
        return max(self.totals, default=0)


def check_minutes(minutes: object) -> int:
    """A window of whole minutes, from one minute to a day."""
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_MINUTES:
        raise InvalidInput(
            f"minutes must be a whole number from 1 to {MAX_MINUTES}, not {minutes!r:.30}"
        )
    return minutes
