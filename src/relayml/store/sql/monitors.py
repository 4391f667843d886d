"""Monitors in SQL: the monitor rows (with the processing lease), their windows, the segments
they have read, model-shift checks, alerts and their notes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, or_, select, update

from relayml.domain.monitors import (
    Alert,
    AlertKind,
    AlertNote,
    AlertState,
    Check,
    CheckKind,
    Monitor,
    MonitorConfig,
    MonitorStatus,
    Persistence,
    ReferenceVersion,
    Severity,
    Window,
    WindowKind,
    WindowPart,
    WindowSpec,
    alert_key,
)
from relayml.store.sql import schema as s
from relayml.store.sql._util import utc, utc_or_none


def dumps(doc: Any) -> str:
    """The codec of the window, check and alert documents: JSON text, NaN kept as NaN (the
    documents are the statistics' own; the wire writes them with Relay's number rule)."""
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


_MONITOR = (
    s.monitors,
    s.deployments.c.name.label("deployment_name"),
    s.models.c.name.label("model_name"),
)


def _monitor_from() -> Any:
    m = s.monitors.c
    return s.monitors.join(s.deployments, s.deployments.c.id == m.deployment_id).join(
        s.models, s.models.c.id == s.deployments.c.model_id
    )


def _reference_version(row: Row[Any]) -> ReferenceVersion:
    return ReferenceVersion(
        int(row.model_version),
        row.dataset,
        row.digest,
        utc(row.built_at),
        row.evaluation,
        row.evaluation_from or "reference",
    )


def _monitor(row: Row[Any]) -> Monitor:
    kind = WindowKind(row.window_kind)
    window = (
        WindowSpec(kind, rows=int(row.window_rows))
        if kind is WindowKind.ROWS
        else WindowSpec(kind, seconds=float(row.window_seconds))
    )
    config = MonitorConfig(
        window=window,
        reference=row.reference,
        target=row.target,
        min_rows=int(row.min_rows),
        alert_after=Persistence(int(row.alert_k), int(row.alert_n)),
        label_horizon=float(row.label_horizon),
        grace=float(row.grace),
        owner=row.owner,
        since=utc(row.since),
        endpoint=row.endpoint,
        check_every=float(row.check_every),
        no_traffic_after=row.no_traffic_after,
        evaluation=row.evaluation,
    )
    return Monitor(
        id=row.id,
        project=row.project,
        name=row.name,
        deployment=row.deployment_name,
        model=row.model_name,
        model_version=row.model_version,
        config=config,
        reference_digest=row.reference_digest,
        status=MonitorStatus(row.status),
        revision=int(row.revision),
        created_by=row.created_by,
        created_at=utc(row.created_at),
        updated_by=row.updated_by,
        updated_at=utc(row.updated_at),
        processed_at=utc_or_none(row.processed_at),
        status_reason=row.status_reason,
    )


def _window(row: Row[Any], monitor: str) -> Window:
    return Window(
        monitor=monitor,
        seq=int(row.seq),
        start=utc(row.start_at),
        end=utc(row.end_at),
        rows=int(row.rows),
        labelled=int(row.labelled),
        closed=bool(row.closed),
        summary=loads(row.summary),
        performance=loads(row.performance),
        assessment=loads(row.assessment),
        flags={k: list(v) for k, v in (row.flags or {}).items()},
        parts=tuple(WindowPart(p[0], int(p[1]), int(p[2])) for p in row.parts or ()),
        closed_at=utc_or_none(row.closed_at),
        updated_at=utc(row.updated_at),
        model_version=row.model_version,
    )


class SqlMonitors:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # monitors -----------------------------------------------------------------------------
    def get(self, project: str, name: str) -> Monitor | None:
        m = s.monitors.c
        q = (
            select(*_MONITOR)
            .select_from(_monitor_from())
            .where(m.project == project, m.name == name)
        )
        row = self.conn.execute(q).first()
        return self._with_references([_monitor(row)])[0] if row is not None else None

    def _with_references(self, found: list[Monitor]) -> list[Monitor]:
        """`found` with each monitor's references (one statement for all)."""
        if not found:
            return found
        r = s.monitor_references.c
        q = select(s.monitor_references).where(r.monitor_id.in_([m.id for m in found]))
        by: dict[str, list[ReferenceVersion]] = {}
        for row in self.conn.execute(q.order_by(r.model_version)):
            by.setdefault(row.monitor_id, []).append(_reference_version(row))
        return [replace(m, references=tuple(by.get(m.id, ()))) for m in found]

    def list_monitors(
        self, project: str, include_archived: bool, deployment_id: str | None = None
    ) -> list[Monitor]:
        m = s.monitors.c
        q = select(*_MONITOR).select_from(_monitor_from()).where(m.project == project)
        if not include_archived:
            q = q.where(m.status != MonitorStatus.ARCHIVED.value)
        if deployment_id is not None:
            q = q.where(m.deployment_id == deployment_id)
        return self._with_references([_monitor(r) for r in self.conn.execute(q.order_by(m.name))])

    def all_active(self) -> list[Monitor]:
        """Every active monitor of every project (what a runner processes)."""
        m = s.monitors.c
        q = select(*_MONITOR).select_from(_monitor_from())
        q = q.where(m.status == MonitorStatus.ACTIVE.value).order_by(m.project, m.name)
        return [_monitor(r) for r in self.conn.execute(q)]

    def insert(self, mon: Monitor, deployment_id: str) -> None:
        c = mon.config
        self.conn.execute(
            insert(s.monitors).values(
                id=mon.id,
                project=mon.project,
                name=mon.name,
                deployment_id=deployment_id,
                window_kind=c.window.kind.value,
                window_seconds=c.window.seconds,
                window_rows=c.window.rows,
                reference=c.reference,
                reference_digest=mon.reference_digest,
                target=c.target,
                model_version=mon.model_version,
                min_rows=c.min_rows,
                alert_k=c.alert_after.k,
                alert_n=c.alert_after.n,
                label_horizon=c.label_horizon,
                grace=c.grace,
                owner=c.owner,
                since=c.since,
                endpoint=c.endpoint,
                check_every=c.check_every,
                no_traffic_after=c.no_traffic_after,
                evaluation=c.evaluation,
                status=mon.status.value,
                status_reason=mon.status_reason,
                revision=mon.revision,
                created_by=mon.created_by,
                created_at=mon.created_at,
                updated_by=mon.updated_by,
                updated_at=mon.updated_at,
            )
        )

    def set_status(self, mon: Monitor, read_revision: int) -> bool:
        """Write `mon`'s status (and who, when, why) if the row is still at `read_revision`."""
        m = s.monitors.c
        done = self.conn.execute(
            update(s.monitors)
            .where(m.id == mon.id, m.revision == read_revision)
            .values(
                status=mon.status.value,
                status_reason=mon.status_reason,
                revision=mon.revision,
                updated_by=mon.updated_by,
                updated_at=mon.updated_at,
            )
        )
        return bool(done.rowcount)

    def set_endpoint(self, mon: Monitor, read_revision: int) -> bool:
        """Write `mon`'s endpoint and check interval if the row is still at `read_revision`."""
        m = s.monitors.c
        done = self.conn.execute(
            update(s.monitors)
            .where(m.id == mon.id, m.revision == read_revision)
            .values(
                endpoint=mon.config.endpoint,
                check_every=mon.config.check_every,
                revision=mon.revision,
                updated_by=mon.updated_by,
                updated_at=mon.updated_at,
            )
        )
        return bool(done.rowcount)

    # the processing lease -----------------------------------------------------------------
    def claim(self, monitor_id: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take the monitor's lease if no one holds it (or theirs ran out): one conditional
        UPDATE, so of racing processors exactly one wins."""
        m = s.monitors.c
        done = self.conn.execute(
            update(s.monitors)
            .where(
                m.id == monitor_id,
                m.status == MonitorStatus.ACTIVE.value,
                or_(m.lease_until.is_(None), m.lease_until < now),
            )
            .values(lease_owner=owner, lease_until=until)
        )
        return bool(done.rowcount)

    def holds(self, monitor_id: str, owner: str, now: datetime) -> bool:
        """Whether `owner` still holds the lease (locked for the rest of the transaction)."""
        m = s.monitors.c
        q = select(m.lease_owner, m.lease_until).where(m.id == monitor_id)
        if self.conn.dialect.name == "postgresql":
            q = q.with_for_update()
        row = self.conn.execute(q).first()
        return row is not None and row.lease_owner == owner and utc(row.lease_until) > now

    def release(
        self,
        monitor_id: str,
        owner: str,
        *,
        changed: bool,
        processed_at: datetime | None = None,
        feedback_cursor: datetime | None = None,
    ) -> bool:
        m = s.monitors.c
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
        if changed:
            values["revision"] = m.revision + 1
        if processed_at is not None:
            values["processed_at"] = processed_at
        if feedback_cursor is not None:
            values["feedback_cursor"] = feedback_cursor
        done = self.conn.execute(
            update(s.monitors).where(m.id == monitor_id, m.lease_owner == owner).values(**values)
        )
        return bool(done.rowcount)

    def feedback_cursor(self, monitor_id: str) -> datetime | None:
        m = s.monitors.c
        value = self.conn.execute(select(m.feedback_cursor).where(m.id == monitor_id)).scalar()
        return utc_or_none(value)

    # segments read ------------------------------------------------------------------------
    def consumed(self, monitor_id: str) -> set[str]:
        c = s.monitor_segments.c
        q = select(c.segment_id).where(c.monitor_id == monitor_id)
        return set(self.conn.execute(q).scalars())

    def add_consumed(self, monitor_id: str, segment_ids: Iterable[str], now: datetime) -> None:
        rows = [
            {"monitor_id": monitor_id, "segment_id": sid, "consumed_at": now} for sid in segment_ids
        ]
        if rows:
            self.conn.execute(insert(s.monitor_segments), rows)

    # windows ------------------------------------------------------------------------------
    def windows(
        self,
        monitor_id: str,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        closed: bool | None = None,
        last: int | None = None,
    ) -> list[Window]:
        """Windows by start, oldest first: overlapping [since, until), closed or open, or the
        `last` few (a late segment can make a window that starts before others numbered
        earlier)."""
        w = s.monitor_windows.c
        q = select(s.monitor_windows).where(w.monitor_id == monitor_id)
        if since is not None:
            q = q.where(w.end_at > since)
        if until is not None:
            q = q.where(w.start_at < until)
        if closed is not None:
            q = q.where(w.closed == closed)
        if last is not None:
            newest = q.order_by(w.start_at.desc(), w.seq.desc()).limit(last)
            rows = list(self.conn.execute(newest))[::-1]
        else:
            rows = list(self.conn.execute(q.order_by(w.start_at, w.seq)))
        return [_window(r, name) for r in rows]

    def window(self, monitor_id: str, name: str, seq: int) -> Window | None:
        w = s.monitor_windows.c
        q = select(s.monitor_windows).where(w.monitor_id == monitor_id, w.seq == seq)
        row = self.conn.execute(q).first()
        return _window(row, name) if row is not None else None

    def windows_at(self, monitor_id: str, name: str, starts: Sequence[datetime]) -> list[Window]:
        w = s.monitor_windows.c
        out: list[Window] = []
        for i in range(0, len(starts), 500):
            q = select(s.monitor_windows).where(
                w.monitor_id == monitor_id, w.start_at.in_(list(starts[i : i + 500]))
            )
            out.extend(_window(r, name) for r in self.conn.execute(q))
        return out

    def next_window_seq(self, monitor_id: str) -> int:
        w = s.monitor_windows.c
        top = self.conn.execute(select(func.max(w.seq)).where(w.monitor_id == monitor_id)).scalar()
        return int(top or 0) + 1

    def put_window(self, monitor_id: str, win: Window, new: bool) -> None:
        values = {
            "start_at": win.start,
            "end_at": win.end,
            "rows": win.rows,
            "labelled": win.labelled,
            "closed": win.closed,
            "summary": dumps(win.summary),
            "performance": dumps(win.performance) if win.performance is not None else None,
            "assessment": dumps(win.assessment) if win.assessment is not None else None,
            "flags": win.flags,
            "parts": [[p.segment_id, p.start, p.stop] for p in win.parts],
            "closed_at": win.closed_at,
            "updated_at": win.updated_at,
            "model_version": win.model_version,
        }
        if new:
            self.conn.execute(
                insert(s.monitor_windows).values(monitor_id=monitor_id, seq=win.seq, **values)
            )
        else:
            w = s.monitor_windows.c
            self.conn.execute(
                update(s.monitor_windows)
                .where(w.monitor_id == monitor_id, w.seq == win.seq)
                .values(**values)
            )

    # references per model version --------------------------------------------------------
    def references(self, monitor_id: str) -> dict[int, ReferenceVersion]:
        r = s.monitor_references.c
        q = select(s.monitor_references).where(r.monitor_id == monitor_id)
        return {int(row.model_version): _reference_version(row) for row in self.conn.execute(q)}

    def add_reference(self, monitor_id: str, ref: ReferenceVersion) -> None:
        self.conn.execute(
            insert(s.monitor_references).values(
                monitor_id=monitor_id,
                model_version=ref.model_version,
                dataset=ref.dataset,
                digest=ref.digest,
                built_at=ref.built_at,
                evaluation=ref.evaluation,
                evaluation_from=ref.evaluation_from,
            )
        )

    # model-shift checks -------------------------------------------------------------------
    def add_check(self, monitor_id: str, check: Check) -> Check:
        c = s.monitor_checks.c
        top = self.conn.execute(select(func.max(c.seq)).where(c.monitor_id == monitor_id)).scalar()
        seq = int(top or 0) + 1
        self.conn.execute(
            insert(s.monitor_checks).values(
                monitor_id=monitor_id,
                seq=seq,
                kind=check.kind.value,
                passed=check.passed,
                details=dumps(check.details),
                at=check.at,
                by=check.by,
            )
        )
        return Check(
            check.monitor, seq, check.kind, check.passed, check.details, check.at, check.by
        )

    def checks(self, monitor_id: str, name: str, limit: int) -> list[Check]:
        """The newest `limit` checks, oldest first."""
        c = s.monitor_checks.c
        q = select(s.monitor_checks).where(c.monitor_id == monitor_id)
        rows = list(self.conn.execute(q.order_by(c.seq.desc()).limit(limit)))[::-1]
        return [
            Check(
                name,
                int(r.seq),
                CheckKind(r.kind),
                bool(r.passed),
                loads(r.details),
                utc(r.at),
                r.by,
            )
            for r in rows
        ]

    # alerts -------------------------------------------------------------------------------
    def _alert_query(self) -> Any:
        a = s.alerts.c
        return select(
            s.alerts,
            s.monitors.c.name.label("monitor_name"),
            s.deployments.c.name.label("deployment_name"),
        ).select_from(
            s.alerts.join(s.monitors, s.monitors.c.id == a.monitor_id).join(
                s.deployments, s.deployments.c.id == s.monitors.c.deployment_id
            )
        )

    def _alert(self, row: Row[Any], notes: list[AlertNote]) -> Alert:
        return Alert(
            id=row.id,
            project=row.project,
            monitor=row.monitor_name,
            deployment=row.deployment_name,
            kind=AlertKind(row.kind),
            subject=row.subject,
            severity=Severity(row.severity),
            state=AlertState(row.state),
            owner=row.owner,
            title=row.title,
            details=loads(row.details),
            since=utc(row.since),
            first_window=row.first_window,
            last_window=row.last_window,
            windows=int(row.windows),
            opened_at=utc(row.opened_at),
            updated_at=utc(row.updated_at),
            acknowledged_by=row.acknowledged_by,
            acknowledged_at=utc_or_none(row.acknowledged_at),
            resolved_by=row.resolved_by,
            resolved_at=utc_or_none(row.resolved_at),
            notes=tuple(notes),
        )

    def _notes(self, ids: Sequence[str]) -> dict[str, list[AlertNote]]:
        n = s.alert_notes.c
        out: dict[str, list[AlertNote]] = {i: [] for i in ids}
        for i in range(0, len(ids), 500):
            q = select(s.alert_notes).where(n.alert_id.in_(list(ids[i : i + 500])))
            for r in self.conn.execute(q.order_by(n.alert_id, n.seq)):
                out[r.alert_id].append(AlertNote(utc(r.at), r.who, r.what, r.text))
        return out

    def get_alert(self, project: str, alert_id: str) -> tuple[str, Alert] | None:
        """The alert and its monitor's id."""
        a = s.alerts.c
        row = self.conn.execute(
            self._alert_query().where(a.project == project, a.id == alert_id)
        ).first()
        if row is None:
            return None
        return row.monitor_id, self._alert(row, self._notes([row.id])[row.id])

    def live_alerts(self, monitor_id: str) -> dict[tuple[AlertKind, str], Alert]:
        """The monitor's open or acknowledged alerts by (kind, subject)."""
        a = s.alerts.c
        rows = list(
            self.conn.execute(
                self._alert_query().where(a.monitor_id == monitor_id, a.live_key.is_not(None))
            )
        )
        notes = self._notes([r.id for r in rows])
        return {(AlertKind(r.kind), r.subject): self._alert(r, notes[r.id]) for r in rows}

    def list_alerts(
        self,
        projects: Sequence[str],
        *,
        monitor_id: str | None = None,
        states: Sequence[AlertState] | None = None,
        owners: Sequence[str] | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        """Newest first (by the last change)."""
        a = s.alerts.c
        q = self._alert_query().where(a.project.in_(list(projects)))
        if monitor_id is not None:
            q = q.where(a.monitor_id == monitor_id)
        if states is not None:
            q = q.where(a.state.in_([x.value for x in states]))
        if owners is not None:
            q = q.where(a.owner.in_(list(owners)))
        rows = list(self.conn.execute(q.order_by(a.updated_at.desc(), a.id).limit(limit)))
        notes = self._notes([r.id for r in rows])
        return [self._alert(r, notes[r.id]) for r in rows]

    def insert_alert(self, monitor_id: str, alert: Alert) -> None:
        self.conn.execute(
            insert(s.alerts).values(
                id=alert.id,
                project=alert.project,
                monitor_id=monitor_id,
                kind=alert.kind.value,
                subject=alert.subject,
                live_key=alert_key(monitor_id, alert.kind, alert.subject),
                **self._alert_values(alert),
            )
        )

    @staticmethod
    def _alert_values(alert: Alert) -> dict[str, Any]:
        return {
            "severity": alert.severity.value,
            "state": alert.state.value,
            "owner": alert.owner,
            "title": alert.title,
            "details": dumps(alert.details),
            "since": alert.since,
            "first_window": alert.first_window,
            "last_window": alert.last_window,
            "windows": alert.windows,
            "opened_at": alert.opened_at,
            "updated_at": alert.updated_at,
            "acknowledged_by": alert.acknowledged_by,
            "acknowledged_at": alert.acknowledged_at,
            "resolved_by": alert.resolved_by,
            "resolved_at": alert.resolved_at,
        }

    def update_alert(self, alert: Alert, read_state: AlertState) -> bool:
        """Write `alert` if its state is still `read_state` (False: it changed meanwhile)."""
        a = s.alerts.c
        values = self._alert_values(alert)
        if not alert.state.live:
            values["live_key"] = None
        done = self.conn.execute(
            update(s.alerts)
            .where(and_(a.id == alert.id, a.state == read_state.value))
            .values(**values)
        )
        return bool(done.rowcount)

    def add_note(self, alert_id: str, note: AlertNote) -> None:
        n = s.alert_notes.c
        top = self.conn.execute(select(func.max(n.seq)).where(n.alert_id == alert_id)).scalar()
        self.conn.execute(
            insert(s.alert_notes).values(
                alert_id=alert_id,
                seq=int(top or 0) + 1,
                at=note.at,
                who=note.who,
                what=note.what,
                text=note.text,
            )
        )
