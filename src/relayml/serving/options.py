"""What `relay serve` can be told, with the defaults docs/serving.md documents, checked once."""

from __future__ import annotations

import math
from dataclasses import dataclass

from relayml.errors import InvalidInput

DEFAULT_PORT = 8600
DEFAULT_POLL_SECONDS = 2.0
DEFAULT_MAX_BATCH = 64
DEFAULT_MAX_WAIT_MS = 2.0
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_LOG_QUEUE = 100_000
DEFAULT_SEGMENT_RECORDS = 10_000
DEFAULT_SEGMENT_SECONDS = 5.0
DEFAULT_SHUTDOWN_SECONDS = 30.0


@dataclass(frozen=True)
class ServeOptions:
    """One model server's settings. Every process of ``--workers N`` runs with the same."""

    deployments: tuple[str, ...]
    project: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 1
    poll_seconds: float = DEFAULT_POLL_SECONDS
    """How often the server asks the registry what each deployment serves now."""
    max_batch: int = DEFAULT_MAX_BATCH
    """The most rows one micro-batched predict call takes."""
    max_wait_ms: float = DEFAULT_MAX_WAIT_MS
    """The longest a request waits for others to join its batch (never when it is alone)."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """The largest request body read; a larger one is answered 413."""
    log_sample: float = 1.0
    """The fraction of answered rows written to the prediction log (1: every row)."""
    log_queue: int = DEFAULT_LOG_QUEUE
    """Records the prediction log holds in memory before it drops (and counts) new ones."""
    segment_records: int = DEFAULT_SEGMENT_RECORDS
    """A log segment is written once it holds this many records ..."""
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    """... or once its oldest record is this many seconds old: what a crash can lose."""
    shutdown_seconds: float = DEFAULT_SHUTDOWN_SECONDS
    """How long SIGTERM waits for requests in flight before it closes their connections."""
    access_log: bool = True
    """One JSON line per request on stderr."""

    def __post_init__(self) -> None:
        if not self.deployments:
            raise InvalidInput("name at least one deployment to serve (relay serve churn-api)")
        if len(set(self.deployments)) != len(self.deployments):
            raise InvalidInput(f"a deployment is named twice in {list(self.deployments)}")
        _whole("--port", self.port, 1, 65535)
        _whole("--workers", self.workers, 1, 64)
        _number("--poll", self.poll_seconds, 0.05, 3600)
        _whole("--max-batch", self.max_batch, 1, 100_000)
        _number("--max-wait-ms", self.max_wait_ms, 0, 1000)
        _whole("--max-body-bytes", self.max_body_bytes, 1024, 2**40)
        _number("--log-sample", self.log_sample, 0, 1)
        _whole("--log-queue", self.log_queue, 1, 10**8)
        _whole("--segment-records", self.segment_records, 1, 10**8)
        _number("--segment-seconds", self.segment_seconds, 0.01, 86_400)
        _number("--shutdown-seconds", self.shutdown_seconds, 0, 3600)

    @property
    def single(self) -> str | None:
        """The deployment `POST /predict` answers for, when the server hosts only one."""
        return self.deployments[0] if len(self.deployments) == 1 else None


def _whole(flag: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{flag} must be a whole number from {low} to {high}, not {value!r}")


def _number(flag: str, value: object, low: float, high: float) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or not low <= float(value) <= high:  # type: ignore[arg-type]
        raise InvalidInput(f"{flag} must be a number from {low:g} to {high:g}, not {value!r}")
