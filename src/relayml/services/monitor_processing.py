"""Processing a monitor: its deployment's prediction log into windows, windows into decisions.

One `process` call:

1. claims the monitor's lease (one conditional UPDATE: of racing processors one wins, the
   others return at once with `claimed` False);
2. reads the log segments it has not read (each exactly once) and cuts their primary-arm rows
   into windows: a time window takes the segments whose rows all fall before the newest
   window that is complete (its end plus `grace` has passed), so a segment is read whole; a
   rows window fills the open window in the order segments were logged and closes it at N
   rows. Each window keeps the summary of its rows (`stats.monitoring.WindowSummary`), the
   slices of segments they came from (`WindowPart`), and, once closed, its assessment. A
   segment that arrives after its window closed is merged into it (summaries merge exactly);
3. joins feedback by prediction id: a closing window's realised performance from the labels
   there are, and a label that arrives later (within the label horizon) recomputes the
   performance of exactly the window its prediction is in;
4. decides (`stats.monitoring.decide`: k of the last n decided windows) and opens, grows or
   resolves alerts;
5. commits all of it in one transaction, only while it still holds the lease, and releases
   it. Until then nothing is written, so a processor killed half-way leaves no half window:
   its lease runs out (`LEASE_SECONDS`) and the next processor does the work again.

Reading the log into windows (step 2) is `services/monitor_windows.py`'s, deciding (step 4)
`services/monitor_decisions.py`'s; here the pass itself, the performance and assessment of
its windows, and the commit.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from relayml.domain.audit import EntityKind, Event
from relayml.domain.deployments import Deployment, LogSegment
from relayml.domain.identity import Principal
from relayml.domain.monitors import (
    Monitor,
    MonitorStatus,
    ProcessResult,
    ReferenceVersion,
    Window,
    WindowKind,
    check_monitor_name,
)
from relayml.domain.roles import Action
from relayml.services.base import utcnow
from relayml.services.monitor_decisions import DecisionsMixin
from relayml.services.monitor_windows import WindowsMixin, _Rows, _Work
from relayml.services.notifications import Pending
from relayml.store.base import Transaction

LEASE_SECONDS = 300.0  # a processor killed mid-way holds the monitor at most this long
KEPT_SEGMENTS = 8  # segments' rows kept in memory at once during a pass
FEEDBACK_BATCH = 10_000
FEEDBACK_OVERLAP = timedelta(seconds=60)  # re-read: feedback committed after a later label


def _flags(assessment: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in assessment.get("findings", []):
        if f.get("flagged"):
            out.setdefault(str(f["kind"]), []).append(str(f["subject"]))
    return out


class ProcessingMixin(WindowsMixin, DecisionsMixin):
    # processing ---------------------------------------------------------------------------
    def process(self, who: Principal, project: str, name: str) -> ProcessResult:
        """Read what is new in the monitor's log into windows, join feedback, decide and
        alert; see the module's docstring. Safe to call from many processes at once."""
        name = check_monitor_name(name)
        token = uuid.uuid4().hex
        now = utcnow()
        with self.write() as tx:
            self.require_in_project(
                tx, who, Action.MONITOR_MANAGE, project, EntityKind.MONITOR, name
            )
            mon = self._get(tx, project, name)
            if not mon.active:
                return ProcessResult(mon.name, False, note=f"monitor is {mon.status.value}")
            if not tx.monitors.claim(mon.id, token, now, now + timedelta(seconds=LEASE_SECONDS)):
                return ProcessResult(mon.name, False, note="another processor holds it")
        try:
            return self._process(who, mon, token)
        except BaseException:
            with self.store.write() as tx:
                tx.monitors.release(mon.id, token, changed=False)
            raise

    def _process(self, who: Principal, mon: Monitor, token: str) -> ProcessResult:
        refs = self._pass_references(mon)
        now = utcnow()
        with self.read() as tx:
            _, dep = self._deployment(tx, mon.project, mon.deployment)
            segments = tx.deployments.segments(dep, mon.config.since, None)
            consumed = tx.monitors.consumed(mon.id)
            cursor = tx.monitors.feedback_cursor(mon.id)
            since = (cursor or mon.created_at) - FEEDBACK_OVERLAP
            fresh = tx.deployments.list_feedback(dep, None, since, FEEDBACK_BATCH)
            open_windows = (
                tx.monitors.windows(mon.id, mon.name, closed=False)
                if mon.config.window.kind is WindowKind.ROWS
                else []
            )
        cache: OrderedDict[str, _Rows] = OrderedDict()
        by_id = {s.id: s for s in segments}

        def rows_of(segment_id: str) -> _Rows:
            """A segment's rows, the few read last kept (memory stays flat in the backlog)."""
            if segment_id in cache:
                cache.move_to_end(segment_id)
                return cache[segment_id]
            found = cache[segment_id] = self._read_rows(by_id[segment_id], mon, refs)
            while len(cache) > KEPT_SEGMENTS:
                cache.popitem(last=False)
            return found

        new = [s for s in segments if s.id not in consumed]
        skipped: list[tuple[LogSegment, str]] = []  # unreadable: read once, counted nowhere
        caught_up = True
        if mon.config.window.kind is WindowKind.TIME:
            work, read = self._time_windows(mon, refs, new, now, rows_of, skipped)
            complete = mon.config.window.bounds(now - timedelta(seconds=mon.config.grace))[0]
            caught_up = len(read) >= sum(1 for s in new if s.last_at < complete)
        else:
            work, read = self._rows_windows(mon, refs, new, open_windows, rows_of, skipped)
        read_ids = {s.id for s in read}
        rows_read = sum(p.rows for w in work for p in w.parts if p.segment_id in read_ids)
        # performance of every window that closed or changed, from the feedback there is
        changing = [w for w in work if w.closed]
        horizon = timedelta(seconds=mon.config.label_horizon)
        with self.read() as tx:
            for w in changing:
                self._measure(tx, dep, mon, w, rows_of, now - horizon)
            # late labels: the closed windows (within the horizon) holding their predictions
            fresh_ids = {f.prediction_id for f in fresh}
            late: list[_Work] = []
            if fresh_ids:
                known = {w.seq for w in work if w.seq is not None}
                for old in tx.monitors.windows(mon.id, mon.name, since=now - horizon, closed=True):
                    if old.seq in known:
                        continue
                    ids = {
                        i for p in old.parts for i in rows_of(p.segment_id).ids[p.start : p.stop]
                    }
                    if ids.isdisjoint(fresh_ids):
                        continue
                    w = self._rework(old, refs)
                    self._measure(tx, dep, mon, w, rows_of, now - horizon)
                    if w.performance_doc != old.performance:
                        late.append(w)
        # the next pass reads feedback from this one's start (less the overlap): each label is
        # looked at in one or two passes, not in every pass after it; a full batch goes on from
        # its last label
        new_cursor = fresh[-1].at if len(fresh) == FEEDBACK_BATCH else now
        for w in [*changing, *late]:
            self._assess(mon, w)
        return self._commit(
            who, mon, token, dep, work + late, read, rows_read, new_cursor, skipped, refs.built,
            caught_up,
        )  # fmt: skip

    # performance and assessment -----------------------------------------------------------
    def _measure(
        self,
        tx: Transaction,
        dep: Deployment,
        mon: Monitor,
        w: _Work,
        rows_of: Any,
        horizon_start: datetime,
    ) -> None:
        """The window's realised performance from the feedback on its predictions (frozen
        once the window ended more than the label horizon ago)."""
        import numpy as np
        import pyarrow as pa

        from relayml.stats.monitoring import measure

        if w.old is not None and w.end < horizon_start:
            w.performance_doc = w.old.performance
            w.labelled = w.old.labelled
            return
        if not tx.deployments.list_feedback(dep, None, w.start, 1):
            # feedback comes after its prediction: none since the window began, none on it
            w.performance, w.performance_doc, w.labelled = None, None, 0
            return
        ids: list[str] = []
        preds: list[Any] = []
        probas: list[Any] = []
        inputs: list[pa.Table] = []  # a regressor's: the label-free estimate on these rows
        estimates = w.reference.loss is not None
        for p in w.parts:
            rows = rows_of(p.segment_id)
            ids.extend(rows.ids[p.start : p.stop])
            preds.append(rows.predictions[p.start : p.stop])
            if rows.probabilities is not None:
                probas.append(rows.probabilities[p.start : p.stop])
            if estimates:
                inputs.append(rows.inputs.slice(p.start, p.stop - p.start))
        truth: dict[str, Any] = {}
        for i in range(0, len(ids), FEEDBACK_BATCH):
            for f in tx.deployments.list_feedback(
                dep, ids[i : i + FEEDBACK_BATCH], None, FEEDBACK_BATCH
            ):
                value = f.label if f.label is not None else f.outcome
                if value is not None:
                    truth[f.prediction_id] = value
        w.labelled = len(truth)
        w.performance_doc = None
        if not truth:
            return
        at = np.array([i in truth for i in ids])
        labels = [truth[i] for i in ids if i in truth]
        predictions = np.concatenate(preds)[at]
        proba = np.concatenate(probas)[at] if probas else None
        table = None
        if inputs:
            table = pa.concat_tables(inputs, promote_options="permissive").filter(pa.array(at))
        perf = measure(w.reference, predictions, proba, labels, table)
        w.performance = perf
        w.performance_doc = perf.to_dict()

    def _assess(self, mon: Monitor, w: _Work) -> None:
        from relayml.stats.monitoring import PerformanceSummary, assess

        perf = w.performance
        if perf is None and w.performance_doc is not None:
            perf = PerformanceSummary.from_dict(w.performance_doc)
        a = assess(w.reference, w.summary, perf, min_rows=mon.config.min_rows)
        w.assessment = a.to_dict()
        w.flags = _flags(w.assessment)

    # committing ---------------------------------------------------------------------------
    def _commit(
        self,
        who: Principal,
        mon: Monitor,
        token: str,
        dep: Deployment,
        work: list[_Work],
        read: list[LogSegment],
        rows: int,
        cursor: datetime | None,
        skipped: list[tuple[LogSegment, str]],
        built: list[ReferenceVersion],
        caught_up: bool = True,
    ) -> ProcessResult:
        now = utcnow()
        pending: list[Pending] = []
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.MONITOR_MANAGE, mon.project, EntityKind.MONITOR, mon.name
            )
            current = tx.monitors.get(mon.project, mon.name)
            if current is None or current.id != mon.id or not tx.monitors.holds(mon.id, token, now):
                return ProcessResult(mon.name, False, note="lost the lease; nothing written")
            if current.status is not MonitorStatus.ACTIVE:
                tx.monitors.release(mon.id, token, changed=False)
                return ProcessResult(mon.name, False, note=f"monitor is {current.status.value}")
            have = tx.monitors.references(mon.id)
            for made in built:  # a new version's reference, built in this pass
                if made.model_version not in have:
                    tx.monitors.add_reference(mon.id, made)
            seq = tx.monitors.next_window_seq(mon.id)
            closed: list[int] = []
            updated: list[int] = []
            stored: list[Window] = []
            for w in work:
                new = w.seq is None
                if new:
                    w.seq, seq = seq, seq + 1
                assert w.seq is not None
                win = Window(
                    monitor=mon.name,
                    seq=w.seq,
                    start=w.start,
                    end=w.end,
                    rows=w.rows,
                    labelled=w.labelled,
                    closed=w.closed,
                    summary=w.summary.to_dict(),
                    performance=w.performance_doc,
                    assessment=w.assessment,
                    flags=w.flags,
                    parts=tuple(w.parts),
                    closed_at=(w.old.closed_at if w.old is not None and w.old.closed else None)
                    or (now if w.closed else None),
                    updated_at=now,
                    model_version=w.version,
                )
                tx.monitors.put_window(mon.id, win, new)
                if w.closed:
                    stored.append(win)
                    if w.old is None or not w.old.closed:
                        closed.append(win.seq)
                    else:
                        updated.append(win.seq)
            tx.monitors.add_consumed(mon.id, [s.id for s in read], now)
            opened: list[str] = []
            grown: list[str] = []
            resolved: list[str] = []
            if stored:
                opened, grown, resolved, pending = self._decide(
                    tx, who, roles, mon, stored, set(closed)
                )
            if mon.config.no_traffic_after is not None and caught_up:
                quiet, back, more = self._silence(tx, who, roles, mon, now)
                opened, resolved, pending = opened + quiet, resolved + back, pending + more
            changed = bool(work or read or built)
            if changed:
                payload = {
                    "references": {f"{mon.model}@{r.model_version}": r.dataset for r in built},
                    "skipped": {seg.uri: why for seg, why in skipped},
                    "segments": len(read),
                    "rows": rows,
                    "closed": closed,
                    "updated": updated,
                    "opened": opened,
                    "resolved": resolved,
                }
                self.record(
                    tx,
                    who,
                    roles,
                    Event.MONITOR_PROCESS,
                    mon.project,
                    EntityKind.MONITOR,
                    mon.name,
                    payload,
                )
            tx.monitors.release(
                mon.id, token, changed=changed, processed_at=now, feedback_cursor=cursor
            )
        self._send(pending)
        return ProcessResult(
            mon.name,
            True,
            segments=len(read),
            rows=rows,
            closed=tuple(closed),
            updated=tuple(updated),
            opened=tuple(opened),
            resolved=tuple(resolved),
            grown=tuple(grown),
            note="; ".join(f"skipped segment {seg.uri}: {why}" for seg, why in skipped),
        )
