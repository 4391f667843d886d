"""The prediction log: every answered row, appended without ever making a request wait.

A request hands its answer to ``PredictionLog.offer`` (one call per request and arm, a few
microseconds): the entry goes into a bounded in-memory queue, or, when the queue already holds
``capacity`` rows, is dropped and counted (``dropped``, exported as a metric). One writer
thread turns entries into rows of a Parquet segment per deployment and rolls the segment when
it holds ``segment_records`` rows or its oldest row is ``segment_seconds`` old: the file is
written, uploaded to the artifact store under
``serving/<project>/<deployment>/<date>/<server_id>-<seq>.parquet`` and registered through
``backend.deployments.record_segment``. ``close`` (SIGTERM) writes everything still queued.
A crash loses what was not yet written: at most ``segment_seconds`` of answers (plus the
upload in progress). A segment the store refuses is kept and offered again on each roll and at
close; ``upload_failures`` counts the refusals.

The schema (docs/serving.md, a data product other tools read):
prediction_id, ts (timestamp[us, UTC]), deployment, project, model, version (int64), digest,
arm, request_id, inputs (JSON text: the row's columns), prediction (JSON text: the answer),
probabilities (JSON text: class -> probability, null when the model gives none),
latency_ms (float64).
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

log = logging.getLogger("relayml.serving")

SCHEMA_FIELDS = (
    "prediction_id",
    "ts",
    "deployment",
    "project",
    "model",
    "version",
    "digest",
    "arm",
    "request_id",
    "inputs",
    "prediction",
    "probabilities",
    "latency_ms",
)


def log_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("prediction_id", pa.string()),
            ("ts", pa.timestamp("us", tz="UTC")),
            ("deployment", pa.string()),
            ("project", pa.string()),
            ("model", pa.string()),
            ("version", pa.int64()),
            ("digest", pa.string()),
            ("arm", pa.string()),
            ("request_id", pa.string()),
            ("inputs", pa.string()),
            ("prediction", pa.string()),
            ("probabilities", pa.string()),
            ("latency_ms", pa.float64()),
        ]
    )


@dataclass(slots=True)
class Entry:
    """One request's answer on one arm: what the log needs, kept as the request had it (the
    rows are turned into JSON on the writer thread, not on the request's path)."""

    deployment: str
    project: str
    model: str
    version: int
    digest: str
    arm: str
    request_id: str
    ts: float  # seconds since the epoch, when the answer was ready
    latency_ms: float
    ids: list[str]
    names: tuple[str, ...]
    rows: list[tuple[Any, ...]] | None
    frame: pd.DataFrame | None
    predictions: list[Any]
    probabilities: list[list[float]] | None
    classes: list[Any] | None

    @property
    def size(self) -> int:
        return len(self.ids)


Sink = Callable[[str, str, Path, str, int, datetime, datetime], None]
"""(project, deployment, local file, uri, records, first_at, last_at): stores and registers a
written segment; raises if it could not."""


@dataclass
class _Segment:
    project: str
    deployment: str
    opened: float  # monotonic time of its first row
    columns: dict[str, list[Any]] = field(default_factory=lambda: {f: [] for f in SCHEMA_FIELDS})

    @property
    def records(self) -> int:
        return len(self.columns["prediction_id"])


class PredictionLog:
    def __init__(
        self,
        sink: Sink,
        folder: Path,
        server_id: str,
        *,
        capacity: int,
        segment_records: int,
        segment_seconds: float,
        sample: float = 1.0,
        on_written: Callable[[str, int], None] | None = None,
        on_dropped: Callable[[str, int], None] | None = None,
    ) -> None:
        self._sink = sink
        self._folder = folder
        self.server_id = server_id
        self.capacity = capacity
        self.segment_records = segment_records
        self.segment_seconds = segment_seconds
        self.sample = sample
        self._on_written = on_written
        self._on_dropped = on_dropped
        self._queue: deque[Entry] = deque()
        self._queued_rows = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._segments: dict[tuple[str, str], _Segment] = {}
        self._failed: list[tuple[str, str, Path, str, int, datetime, datetime]] = []
        self._seq = 0
        self.written = 0
        self.dropped = 0
        self.upload_failures = 0
        self._thread = threading.Thread(target=self._run, name="relay-prediction-log", daemon=True)
        self._thread.start()

    @property
    def unstored(self) -> int:
        """Rows in segments written but not stored (the store refused them)."""
        return sum(f[4] for f in self._failed)

    @property
    def depth(self) -> int:
        """Rows queued, not yet in a segment."""
        return self._queued_rows

    def offer(self, entry: Entry) -> bool:
        """Queue ``entry`` unless the queue is full (then it is dropped and counted) or
        sampling leaves it out. Never blocks for longer than a lock held for an append."""
        if self.sample < 1.0 and random.random() >= self.sample:  # noqa: S311 (sampling)
            return False
        n = entry.size
        with self._lock:
            if self._stop or self._queued_rows + n > self.capacity:
                self.dropped += n
                full = True
            else:
                self._queue.append(entry)
                self._queued_rows += n
                full = False
        if full:
            if self._on_dropped is not None:
                self._on_dropped(entry.deployment, n)
            return False
        if self._queued_rows >= self.segment_records:
            self._wake.set()
        return True

    def close(self, timeout: float = 60.0) -> None:
        """Write every queued row and every open segment, then stop the writer."""
        with self._lock:
            self._stop = True
        self._wake.set()
        self._thread.join(timeout)

    # --- the writer thread --------------------------------------------------------------------

    def _run(self) -> None:
        tick = min(self.segment_seconds / 2, 0.5)
        while True:
            self._wake.wait(tick)
            self._wake.clear()
            stopping = self._stop
            try:
                self._drain()
                self._roll(force=stopping)
            except Exception:  # never let the writer die: the server goes on answering
                log.exception("the prediction log writer failed; retrying")
            if stopping and not self._queue:
                return

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    return
                entry = self._queue.popleft()
                self._queued_rows -= entry.size
            self._add(entry)
            segment = self._segments.get((entry.project, entry.deployment))
            if segment is not None and segment.records >= self.segment_records:
                self._write(segment)

    def _add(self, e: Entry) -> None:
        key = (e.project, e.deployment)
        segment = self._segments.get(key)
        if segment is None:
            segment = self._segments[key] = _Segment(e.project, e.deployment, time.monotonic())
        cols = segment.columns
        n = e.size
        ts = datetime.fromtimestamp(e.ts, UTC)
        cols["prediction_id"].extend(e.ids)
        for name, value in (
            ("ts", ts),
            ("deployment", e.deployment),
            ("project", e.project),
            ("model", e.model),
            ("version", e.version),
            ("digest", e.digest),
            ("arm", e.arm),
            ("request_id", e.request_id),
            ("latency_ms", e.latency_ms),
        ):
            cols[name].extend([value] * n)
        cols["inputs"].extend(_inputs(e))
        cols["prediction"].extend(orjson.dumps(p, option=orjson.OPT_SERIALIZE_NUMPY).decode()
                                  for p in e.predictions)  # fmt: skip
        if e.probabilities is None or e.classes is None:
            cols["probabilities"].extend([None] * n)
        else:
            keys = [str(c) for c in e.classes]
            cols["probabilities"].extend(
                orjson.dumps(dict(zip(keys, row, strict=True))).decode() for row in e.probabilities
            )

    def _roll(self, force: bool) -> None:
        now = time.monotonic()
        for segment in list(self._segments.values()):
            if force or now - segment.opened >= self.segment_seconds:
                self._write(segment)
        if self._failed:
            self._retry()

    def _write(self, segment: _Segment) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        del self._segments[(segment.project, segment.deployment)]
        records = segment.records
        if not records:
            return
        table = pa.Table.from_pydict(segment.columns, schema=log_schema())
        stamps = segment.columns["ts"]
        first, last = min(stamps), max(stamps)
        self._seq += 1
        name = f"{self.server_id}-{self._seq:06d}.parquet"
        uri = f"serving/{segment.project}/{segment.deployment}/{first:%Y-%m-%d}/{name}"
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._folder / name
        pq.write_table(table, path, compression="zstd")
        self._store(segment.project, segment.deployment, path, uri, records, first, last)

    def _store(
        self,
        project: str,
        deployment: str,
        path: Path,
        uri: str,
        records: int,
        first: datetime,
        last: datetime,
    ) -> None:
        try:
            self._sink(project, deployment, path, uri, records, first, last)
        except Exception as exc:
            self.upload_failures += 1
            log.warning("prediction log segment %s was not stored (%s); will retry", uri, exc)
            self._failed.append((project, deployment, path, uri, records, first, last))
            return
        path.unlink(missing_ok=True)
        self.written += records
        if self._on_written is not None:
            self._on_written(deployment, records)

    def _retry(self) -> None:
        failed, self._failed = self._failed, []
        for args in failed:
            self._store(*args)


def _inputs(e: Entry) -> list[str]:
    names = e.names
    if e.rows is not None:
        return [
            orjson.dumps(
                dict(zip(names, row, strict=True)),
                option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
                default=_default,
            ).decode()
            for row in e.rows
        ]
    assert e.frame is not None
    records = e.frame.to_dict(orient="records")
    return [
        orjson.dumps(r, option=orjson.OPT_SERIALIZE_NUMPY, default=_default).decode()
        for r in records
    ]


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def make_server_id() -> str:
    """This process's name in segment files: host, pid and a random tag (a restarted process
    with a recycled pid never overwrites an earlier segment)."""
    import socket

    host = "".join(c if c.isalnum() or c in "-." else "-" for c in socket.gethostname())[:40]
    return f"{host or 'host'}-{os.getpid()}-{os.urandom(3).hex()}"
