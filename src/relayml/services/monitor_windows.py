"""A monitor's prediction log read into windows, for one pass of `process`
(`services/monitor_processing.py`, step 2 of its docstring).

Here: a log segment's primary-arm rows from the monitor's start on (`_Rows`: read once, checked
against the documented schema, with the reference of the model version that answered them), and
the windows a pass builds or changes from them (`_Work`). A time window is one period of one
version's rows, from the segments whose rows all fall before the newest complete window; a rows
window is filled in the order segments were logged and closed at N rows (a new version's rows
close it short). A pass reads at most `MAX_SEGMENTS` segments and `MAX_PASS_ROWS` rows; a stored
window it changes is reworked from its summary and parts (`_rework`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from relayml.domain.deployments import GOLDEN_REQUEST_PREFIX, LogSegment
from relayml.domain.monitors import EPOCH, Monitor, Window, WindowPart
from relayml.errors import InvalidInput
from relayml.services.monitor_base import MonitorBase
from relayml.services.monitor_reference import (
    PassReferences,
    ReferenceInput,
    reference_input_for,
)

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from relayml.stats.monitoring import MonitorReference, PerformanceSummary, WindowSummary

MAX_SEGMENTS = 500  # per pass: a backlog is caught up over several passes
MAX_PASS_ROWS = 5_000_000  # per pass (at least one segment)
LOG_COLUMNS = (
    "prediction_id",
    "ts",
    "arm",
    "version",
    "request_id",
    "inputs",
    "prediction",
    "probabilities",
)


@dataclass
class _Rows:
    """One segment's primary-arm rows from the monitor's start on, in (ts, prediction id)
    order: the order `WindowPart` indexes."""

    ids: list[str]
    ts: np.ndarray[Any, Any]  # int64 microseconds since the epoch
    inputs: pa.Table
    predictions: np.ndarray[Any, Any]
    probabilities: np.ndarray[Any, Any] | None
    version: int | None  # the model version that answered them (one per segment)
    ref: MonitorReference  # that version's reference

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class _Work:
    """A window being built or changed in this call."""

    seq: int | None  # None: new (numbered at commit)
    start: datetime
    end: datetime
    summary: WindowSummary
    parts: list[WindowPart]
    rows: int
    closed: bool
    old: Window | None = None
    performance: PerformanceSummary | None = None
    assessment: dict[str, Any] | None = None
    flags: dict[str, list[str]] = field(default_factory=dict)
    labelled: int = 0
    performance_doc: dict[str, Any] | None = None
    version: int | None = None  # whose reference it is compared with
    ref: MonitorReference | None = None

    @property
    def reference(self) -> MonitorReference:
        assert self.ref is not None
        return self.ref


def _us(moment: datetime) -> int:
    return int((moment - EPOCH) / timedelta(microseconds=1))


def _at(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(us))


def _bounded(segments: list[LogSegment]) -> list[LogSegment]:
    """The first segments of a backlog one pass reads: at most MAX_SEGMENTS, and no more rows
    than MAX_PASS_ROWS (but always the first)."""
    out: list[LogSegment] = []
    rows = 0
    for seg in segments[:MAX_SEGMENTS]:
        if out and rows + seg.records > MAX_PASS_ROWS:
            break
        out.append(seg)
        rows += seg.records
    return out


def _cuts(rows: int, first: int, size: int) -> list[tuple[int, int]]:
    """A segment of `rows` rows cut into slices: the first fills the open window (`first`
    rows short of full), each next one a whole window of `size`."""
    out = []
    pos, room = 0, first
    while pos < rows:
        stop = min(rows, pos + room)
        out.append((pos, stop))
        pos, room = stop, size
    return out


class WindowsMixin(MonitorBase):
    # the reference and the log ------------------------------------------------------------
    def _pass_references(self, mon: Monitor) -> PassReferences:
        """The references of `mon` by model version, building a new version's when its rows
        first arrive (see `services.monitor_reference`)."""
        with self.read() as tx:
            known = tx.monitors.references(mon.id)

        def source(version: int) -> ReferenceInput:
            with self.read() as tx:
                found = tx.models.find_version(mon.project, mon.model, version, None)
                if found is None:
                    raise InvalidInput(f"{mon.model}@{version} is not in the registry")
                return reference_input_for(
                    tx, mon.project, found[1], mon.config.reference, mon.config.evaluation
                )

        return PassReferences(self.artifacts, self._references, mon, known, source)

    def _read_rows(self, seg: LogSegment, mon: Monitor, refs: PassReferences) -> _Rows:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        data = pa.BufferReader(b"".join(self.artifacts.iter_verified(seg.digest)))
        present = set(pq.read_schema(data).names)
        missing = [c for c in ("prediction_id", "ts", "inputs", "prediction") if c not in present]
        if missing:
            raise InvalidInput(
                f"log segment {seg.uri} has no column {missing[0]!r}: not a prediction log "
                "segment in the documented schema (docs/serving.md)"
            )
        data.seek(0)
        table = pq.read_table(data, columns=[c for c in LOG_COLUMNS if c in present])
        keep = pc.greater_equal(table["ts"], pa.scalar(mon.config.since, table["ts"].type))
        if "arm" in present:
            keep = pc.and_(keep, pc.equal(table["arm"], "primary"))
        if "request_id" in present:  # a golden-set replay (a model-shift check) is no traffic
            golden = pc.fill_null(pc.starts_with(table["request_id"], GOLDEN_REQUEST_PREFIX), False)
            keep = pc.and_(keep, pc.invert(golden))
        version = None
        if "version" in present:  # whose rows: compared with that version's reference
            versions = pc.unique(table["version"].filter(keep)).drop_null().to_pylist()
            if len(versions) > 1:
                raise InvalidInput(
                    f"log segment {seg.uri} holds primary rows of versions {versions}; a "
                    "segment holds one version's rows (docs/serving.md)"
                )
            version = int(versions[0]) if versions else None
        ref = refs.get(version)
        scored = ref.classes is not None and "probabilities" in present
        if scored:
            keep = pc.and_(keep, pc.is_valid(table["probabilities"]))
        table = table.filter(keep).sort_by([("ts", "ascending"), ("prediction_id", "ascending")])
        inputs = table["inputs"].combine_chunks()
        names = [f.name for f in inputs.type]
        frame = pa.table(dict(zip(names, inputs.flatten(), strict=True)))
        proba = None
        if ref.classes is not None:
            if not scored:
                raise InvalidInput(
                    f"log segment {seg.uri} has no probabilities; the monitor's model is a "
                    "classifier whose windows need them"
                )
            struct = table["probabilities"].combine_chunks()
            fields = {f.name: i for i, f in enumerate(struct.type)}
            columns = []
            for c in ref.classes:
                if str(c) not in fields:
                    raise InvalidInput(
                        f"log segment {seg.uri} has no probability of class {c!r}: it was "
                        "logged by another model than the monitor's reference"
                    )
                columns.append(struct.field(fields[str(c)]).to_numpy(zero_copy_only=False))
            proba = np.column_stack(columns).astype(np.float64) if columns else None
        ts = table["ts"].cast(pa.int64()).to_numpy()
        return _Rows(
            ids=table["prediction_id"].to_pylist(),
            ts=ts,
            inputs=frame,
            predictions=table["prediction"].to_numpy(zero_copy_only=False),
            probabilities=proba,
            version=refs.version(version),
            ref=ref,
        )

    def _summarise(self, rows: _Rows, i: int, j: int) -> WindowSummary:
        from relayml.stats.monitoring import summarise

        proba = rows.probabilities[i:j] if rows.probabilities is not None else None
        return summarise(rows.ref, rows.inputs.slice(i, j - i), rows.predictions[i:j], proba)

    # windows ------------------------------------------------------------------------------
    def _time_windows(
        self,
        mon: Monitor,
        refs: PassReferences,
        new: list[LogSegment],
        now: datetime,
        rows_of: Any,
        skipped: list[tuple[LogSegment, str]],
    ) -> tuple[list[_Work], list[LogSegment]]:
        import numpy as np

        from relayml.stats.monitoring import WindowSummary

        spec = mon.config.window
        width = int(spec.seconds or 0) * 1_000_000
        complete = spec.bounds(now - timedelta(seconds=mon.config.grace))[0]
        ready = _bounded([s for s in new if s.last_at < complete])
        # a window is one period of one model version's rows: in the hour a new version takes
        # over, each version's rows make a window of their own, against their own reference
        found: dict[tuple[int, int | None], _Work] = {}
        for seg in ready:
            try:
                rows = rows_of(seg.id)
                starts = rows.ts // width * width
                cut = np.flatnonzero(np.diff(starts)) + 1 if len(rows) else np.array([], int)
                bounds = zip([0, *cut.tolist()], [*cut.tolist(), len(rows)], strict=True)
                pieces = [(int(starts[i]), i, j, self._summarise(rows, i, j))
                          for i, j in bounds if j > i]  # fmt: skip
            except InvalidInput as exc:
                skipped.append((seg, exc.message))
                continue
            for start, i, j, summary in pieces:
                key = (start, rows.version)
                w = found.get(key)
                if w is None:
                    begin = _at(start)
                    w = _Work(
                        None,
                        begin,
                        begin + timedelta(microseconds=width),
                        WindowSummary.empty(rows.ref),
                        [],
                        0,
                        True,
                        version=rows.version,
                        ref=rows.ref,
                    )
                    found[key] = w
                w.summary = w.summary.merge(summary)
                w.parts.append(WindowPart(seg.id, i, j))
                w.rows += j - i
        if found:
            with self.read() as tx:
                olds = tx.monitors.windows_at(mon.id, mon.name, [w.start for w in found.values()])
            for old in olds:
                match = found.get((_us(old.start), refs.version(old.model_version)))
                if match is None:
                    continue  # another version's window of the same period
                w = match
                base = self._rework(old, refs)
                w.seq, w.old = old.seq, old
                w.summary = base.summary.merge(w.summary)
                w.parts = [*old.parts, *w.parts]
                w.rows += old.rows
        return sorted(found.values(), key=lambda w: (w.start, w.version or 0)), ready

    def _rows_windows(
        self,
        mon: Monitor,
        refs: PassReferences,
        new: list[LogSegment],
        open_windows: list[Window],
        rows_of: Any,
        skipped: list[tuple[LogSegment, str]],
    ) -> tuple[list[_Work], list[LogSegment]]:
        from relayml.stats.monitoring import WindowSummary

        size = int(mon.config.window.rows or 0)
        ready = _bounded(sorted(new, key=lambda s: (s.first_at, s.registered_at, s.id)))
        out: list[_Work] = []
        current: _Work | None = None
        if open_windows:
            current = self._rework(open_windows[-1], refs)
        for seg in ready:
            try:
                rows = rows_of(seg.id)
            except InvalidInput as exc:
                skipped.append((seg, exc.message))
                continue
            if current is not None and len(rows) and current.version != rows.version:
                # another version took over: its rows start a window of their own, against
                # its reference; the open window closes short (deciding if it has min_rows)
                current.closed = True
                out.append(current)
                current = None
            pieces = [
                (pos, stop, self._summarise(rows, pos, stop))
                for pos, stop in _cuts(len(rows), size - (current.rows if current else 0), size)
            ]
            for pos, stop, summary in pieces:
                if current is None:
                    current = _Work(
                        None,
                        _at(int(rows.ts[pos])),
                        _at(int(rows.ts[pos])),
                        WindowSummary.empty(rows.ref),
                        [],
                        0,
                        False,
                        version=rows.version,
                        ref=rows.ref,
                    )
                current.summary = current.summary.merge(summary)
                current.parts.append(WindowPart(seg.id, pos, stop))
                current.rows += stop - pos
                current.start = min(current.start, _at(int(rows.ts[pos])))
                current.end = max(current.end, _at(int(rows.ts[stop - 1])))
                if current.rows >= size:
                    current.closed = True
                    out.append(current)
                    current = None
        if current is not None and (current.old is None or current.rows != current.old.rows):
            out.append(current)
        return out, ready

    def _rework(self, old: Window, refs: PassReferences) -> _Work:
        """A stored window, to change (against the reference it was made with)."""
        from relayml.stats.monitoring import WindowSummary

        version = refs.version(old.model_version)
        ref = refs.get(version)
        return _Work(
            old.seq,
            old.start,
            old.end,
            WindowSummary.from_dict(old.summary, ref),
            list(old.parts),
            old.rows,
            old.closed,
            old=old,
            assessment=old.assessment,
            flags=old.flags,
            labelled=old.labelled,
            performance_doc=old.performance,
            version=version,
            ref=ref,
        )
