"""The prediction log: every answered row, appended without ever making a request wait.

A request hands its answer to ``PredictionLog.offer`` (one call per request and arm, a few
microseconds): the entry goes into a bounded in-memory queue, or, when the queue already holds
``capacity`` rows, is dropped and counted (``dropped``, exported as a metric). One writer
thread gathers entries into a segment per deployment and model version and rolls it when it
holds ``segment_records`` rows or its oldest row is ``segment_seconds`` old: the rows become
Arrow columns in a few vectorised steps (the request's own arrays, not a Python object per
value), the Parquet file is written, uploaded to the artifact store under
``serving/<project>/<deployment>/<date>/<server_id>-<seq>.parquet`` and registered through
``backend.deployments.record_segment``. ``close`` (SIGTERM) writes everything still queued.
A crash loses what was not yet written: at most ``segment_seconds`` of answers (plus the
upload in progress). A segment the store refuses is kept and offered again on each roll and at
close; ``upload_failures`` counts the refusals.

The schema (docs/serving.md, a data product other tools read): prediction_id, ts
(timestamp[us, UTC]), deployment, project, model, version (int64), digest, arm, request_id,
inputs (a struct with one field per signature column, of its type), prediction (the answer's
type: int64, float64, string or bool), probabilities (a struct of float64 per class, named by
the class; null for a model without them), latency_ms (float64). One segment holds the rows of
one model version, so its inputs and outputs have one type.
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

from relayml.domain.models import ColumnType

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from relayml.serving.inputs import Parsed, Schema

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


@dataclass(slots=True)
class Entry:
    """One request's answer on one arm: what the log needs, kept as the request had it (turned
    into columns on the writer thread, not on the request's path)."""

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
    schema: Schema
    inputs: Parsed
    predictions: list[Any]
    probabilities: np.ndarray[Any, Any] | None
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
    entries: list[Entry] = field(default_factory=list)
    records: int = 0


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
        self._segments: dict[tuple[str, str, str], _Segment] = {}
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
            key = (entry.project, entry.deployment, entry.digest)
            segment = self._segments.get(key)
            if segment is None:
                segment = _Segment(entry.project, entry.deployment, time.monotonic())
                self._segments[key] = segment
            segment.entries.append(entry)
            segment.records += entry.size
            if segment.records >= self.segment_records:
                self._write(key, segment)

    def _roll(self, force: bool) -> None:
        now = time.monotonic()
        for key, segment in list(self._segments.items()):
            if force or now - segment.opened >= self.segment_seconds:
                self._write(key, segment)
        if self._failed:
            self._retry()

    def _write(self, key: tuple[str, str, str], segment: _Segment) -> None:
        import pyarrow.parquet as pq

        del self._segments[key]
        if not segment.records:
            return
        table = segment_table(segment.entries)
        first = datetime.fromtimestamp(min(e.ts for e in segment.entries), UTC)
        last = datetime.fromtimestamp(max(e.ts for e in segment.entries), UTC)
        self._seq += 1
        name = f"{self.server_id}-{self._seq:06d}.parquet"
        uri = f"serving/{segment.project}/{segment.deployment}/{first:%Y-%m-%d}/{name}"
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._folder / name
        pq.write_table(table, path, compression="zstd")
        self._store(segment.project, segment.deployment, path, uri, segment.records, first, last)

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


def segment_table(entries: list[Entry]) -> pa.Table:
    """The rows of ``entries`` (one model version) as the log's Arrow table."""
    import numpy as np
    import pyarrow as pa

    sizes = [e.size for e in entries]

    def repeated(values: list[Any], kind: pa.DataType) -> pa.Array:
        return pa.array(np.repeat(np.array(values, dtype=object), sizes).tolist(), kind)

    ids: list[str] = []
    predictions: list[Any] = []
    for e in entries:
        ids.extend(e.ids)
        predictions.extend(e.predictions)
    stamps = np.repeat(np.array([e.ts for e in entries]) * 1e6, sizes).astype("int64")
    latency = np.repeat(np.array([e.latency_ms for e in entries]), sizes)
    try:
        prediction = pa.array(predictions)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        prediction = pa.array([None if p is None else str(p) for p in predictions], pa.string())
    columns = {
        "prediction_id": pa.array(ids, pa.string()),
        "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
        "deployment": repeated([e.deployment for e in entries], pa.string()),
        "project": repeated([e.project for e in entries], pa.string()),
        "model": repeated([e.model for e in entries], pa.string()),
        "version": pa.array(np.repeat([e.version for e in entries], sizes), pa.int64()),
        "digest": repeated([e.digest for e in entries], pa.string()),
        "arm": repeated([e.arm for e in entries], pa.string()),
        "request_id": repeated([e.request_id for e in entries], pa.string()),
        "inputs": _inputs(entries),
        "prediction": prediction,
        "probabilities": _probabilities(entries),
        "latency_ms": pa.array(latency, pa.float64()),
    }
    return pa.table(columns)


def _arrow_type(kind: ColumnType) -> pa.DataType:
    import pyarrow as pa

    return {
        ColumnType.FLOAT: pa.float64(),
        ColumnType.INTEGER: pa.int64(),
        ColumnType.BOOLEAN: pa.bool_(),
        ColumnType.STRING: pa.string(),
        ColumnType.DATETIME: pa.timestamp("us", tz="UTC"),
    }[kind]


def _inputs(entries: list[Entry]) -> pa.StructArray:
    """One struct per row, a field per signature column: built column by column from the
    requests' own arrays (floats), rows or frames."""
    import numpy as np
    import pyarrow as pa

    schema = entries[0].schema
    names = list(schema.names)
    types = [_arrow_type(t) for t in schema.types]
    if schema.all_float:
        blocks = []
        for e in entries:
            p = e.inputs
            if p.array is not None:
                blocks.append(p.array)
            elif p.rows is not None:
                blocks.append(np.array(p.rows, dtype=np.float64))
            else:
                assert p.frame is not None
                blocks.append(p.frame[names].to_numpy(dtype=np.float64))
        matrix = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
        arrays = [pa.array(matrix[:, i], pa.float64(), from_pandas=True) for i in range(len(names))]
        return pa.StructArray.from_arrays(arrays, names=names)
    values: list[list[Any]] = [[] for _ in names]
    for e in entries:
        p = e.inputs
        if p.rows is not None:
            for column, got in zip(values, zip(*p.rows, strict=True), strict=True):
                column.extend(got)
        elif p.array is not None:
            for i, column in enumerate(values):
                column.extend(p.array[:, i].tolist())
        else:
            assert p.frame is not None
            for name, column in zip(names, values, strict=True):
                column.extend(p.frame[name].tolist())
    arrays = [
        pa.array(column, kind, from_pandas=True) for column, kind in zip(values, types, strict=True)
    ]
    return pa.StructArray.from_arrays(arrays, names=names)


def _probabilities(entries: list[Entry]) -> pa.Array:
    import numpy as np
    import pyarrow as pa

    classes = entries[0].classes
    blocks = [e.probabilities for e in entries if e.probabilities is not None]
    if classes is None or len(blocks) != len(entries):
        return pa.nulls(sum(e.size for e in entries))
    matrix = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    arrays = [pa.array(matrix[:, k], pa.float64()) for k in range(len(classes))]
    return pa.StructArray.from_arrays(arrays, names=[str(c) for c in classes])


def make_server_id() -> str:
    """This process's name in segment files: host, pid and a random tag (a restarted process
    with a recycled pid never overwrites an earlier segment)."""
    import socket

    host = "".join(c if c.isalnum() or c in "-." else "-" for c in socket.gethostname())[:40]
    return f"{host or 'host'}-{os.getpid()}-{os.urandom(3).hex()}"
