"""Monitors on the wire: monitors with their settings, windows (without their summaries, which
stay in the store), day and week rollups, model-shift checks, alerts with their notes, what
one processing pass did, and the monitor's report. Statistics documents travel as JSON with
non-finite numbers as "NaN", "Infinity", "-Infinity"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from relayml.domain.monitors import (
    Alert,
    AlertFamily,
    AlertKind,
    AlertNote,
    AlertState,
    Check,
    CheckKind,
    Monitor,
    MonitorConfig,
    MonitorReport,
    MonitorStatus,
    Persistence,
    ProcessResult,
    ReferenceVersion,
    Rollup,
    Severity,
    Window,
    WindowKind,
    WindowSpec,
)
from relayml.domain.numbers import json_safe
from relayml.wire.common import WireModel


def _doc(value: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else json_safe(value)


class WindowSpecOut(WireModel):
    kind: WindowKind
    seconds: float | None
    rows: int | None
    text: str

    @classmethod
    def from_domain(cls, obj: WindowSpec) -> WindowSpecOut:
        return cls(kind=obj.kind, seconds=obj.seconds, rows=obj.rows, text=obj.text)

    def to_domain(self) -> WindowSpec:
        return WindowSpec(self.kind, seconds=self.seconds, rows=self.rows)


class ReferenceVersionOut(WireModel):
    """What one model version's windows are compared with."""

    model_version: int
    dataset: str
    digest: str
    built_at: datetime
    evaluation: str | None = None  # the dataset version the model's outputs came from
    evaluation_from: str = "reference"  # named, promotion or reference (the dataset itself)

    @classmethod
    def from_domain(cls, obj: ReferenceVersion) -> ReferenceVersionOut:
        return cls(
            model_version=obj.model_version,
            dataset=obj.dataset,
            digest=obj.digest,
            built_at=obj.built_at,
            evaluation=obj.evaluation,
            evaluation_from=obj.evaluation_from,
        )

    def to_domain(self) -> ReferenceVersion:
        return ReferenceVersion(
            self.model_version,
            self.dataset,
            self.digest,
            self.built_at,
            self.evaluation,
            self.evaluation_from,
        )


class MonitorOut(WireModel):
    id: str
    project: str
    name: str
    deployment: str
    model: str
    model_version: int | None
    window: WindowSpecOut
    reference: str
    reference_digest: str | None
    target: str | None
    min_rows: int
    alert_after: str
    label_horizon: float
    grace: float
    owner: str
    since: datetime
    endpoint: str | None = None  # the live model server the runner checks for model shift
    check_every: float = 300.0  # seconds between two of those checks
    no_traffic_after: int | None = None  # time windows without rows before a no_traffic alert
    evaluation: str | None = None  # the dataset version named for the model's outputs
    references: list[ReferenceVersionOut] = []  # one per model version seen serving
    status: MonitorStatus
    status_reason: str
    revision: int
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    processed_at: datetime | None

    @classmethod
    def from_domain(cls, obj: Monitor) -> MonitorOut:
        c = obj.config
        return cls(
            id=obj.id,
            project=obj.project,
            name=obj.name,
            deployment=obj.deployment,
            model=obj.model,
            model_version=obj.model_version,
            window=WindowSpecOut.from_domain(c.window),
            reference=c.reference,
            reference_digest=obj.reference_digest,
            target=c.target,
            min_rows=c.min_rows,
            alert_after=str(c.alert_after),
            label_horizon=c.label_horizon,
            grace=c.grace,
            owner=c.owner,
            since=c.since,
            endpoint=c.endpoint,
            check_every=c.check_every,
            no_traffic_after=c.no_traffic_after,
            evaluation=c.evaluation,
            references=[ReferenceVersionOut.from_domain(r) for r in obj.references],
            status=obj.status,
            status_reason=obj.status_reason,
            revision=obj.revision,
            created_by=obj.created_by,
            created_at=obj.created_at,
            updated_by=obj.updated_by,
            updated_at=obj.updated_at,
            processed_at=obj.processed_at,
        )

    def to_domain(self) -> Monitor:
        k, n = (int(x) for x in self.alert_after.split("/"))
        config = MonitorConfig(
            window=self.window.to_domain(),
            reference=self.reference,
            target=self.target,
            min_rows=self.min_rows,
            alert_after=Persistence(k, n),
            label_horizon=self.label_horizon,
            grace=self.grace,
            owner=self.owner,
            since=self.since,
            endpoint=self.endpoint,
            check_every=self.check_every,
            no_traffic_after=self.no_traffic_after,
            evaluation=self.evaluation,
        )
        return Monitor(
            id=self.id,
            project=self.project,
            name=self.name,
            deployment=self.deployment,
            model=self.model,
            model_version=self.model_version,
            config=config,
            reference_digest=self.reference_digest,
            status=self.status,
            revision=self.revision,
            created_by=self.created_by,
            created_at=self.created_at,
            updated_by=self.updated_by,
            updated_at=self.updated_at,
            processed_at=self.processed_at,
            status_reason=self.status_reason,
            references=tuple(r.to_domain() for r in self.references),
        )


class WindowOut(WireModel):
    """One window: its bounds and counts, whether it decided (enough rows) and what it
    flagged, its assessment (drift per column, prediction drift, estimated and realised
    performance, findings) and realised performance counts."""

    monitor: str
    seq: int
    start: datetime
    end: datetime
    rows: int
    labelled: int
    closed: bool
    decided: bool
    flags: dict[str, list[str]]
    assessment: dict[str, Any] | None
    performance: dict[str, Any] | None
    closed_at: datetime | None
    updated_at: datetime
    model_version: int | None = None  # whose reference it was compared with

    @classmethod
    def from_domain(cls, obj: Window) -> WindowOut:
        return cls(
            monitor=obj.monitor,
            seq=obj.seq,
            start=obj.start,
            end=obj.end,
            rows=obj.rows,
            labelled=obj.labelled,
            closed=obj.closed,
            decided=obj.decided,
            flags=obj.flags,
            assessment=_doc(obj.assessment),
            performance=_doc(obj.performance),
            closed_at=obj.closed_at,
            updated_at=obj.updated_at,
            model_version=obj.model_version,
        )

    def to_domain(self) -> Window:
        return Window(
            monitor=self.monitor,
            seq=self.seq,
            start=self.start,
            end=self.end,
            rows=self.rows,
            labelled=self.labelled,
            closed=self.closed,
            summary={},  # stays in the store
            performance=self.performance,
            assessment=self.assessment,
            flags=self.flags,
            parts=(),
            closed_at=self.closed_at,
            updated_at=self.updated_at,
            model_version=self.model_version,
        )


class RollupOut(WireModel):
    monitor: str
    period: str
    start: datetime
    end: datetime
    windows: int
    rows: int
    labelled: int
    assessment: dict[str, Any] | None
    model_version: int | None = None  # the reference its windows share

    @classmethod
    def from_domain(cls, obj: Rollup) -> RollupOut:
        return cls(
            monitor=obj.monitor,
            period=obj.period,
            start=obj.start,
            end=obj.end,
            windows=obj.windows,
            rows=obj.rows,
            labelled=obj.labelled,
            assessment=_doc(obj.assessment),
            model_version=obj.model_version,
        )

    def to_domain(self) -> Rollup:
        return Rollup(
            monitor=self.monitor,
            period=self.period,
            start=self.start,
            end=self.end,
            windows=self.windows,
            rows=self.rows,
            labelled=self.labelled,
            assessment=self.assessment,
            model_version=self.model_version,
        )


class CheckOut(WireModel):
    monitor: str
    seq: int
    kind: CheckKind
    passed: bool
    details: dict[str, Any]
    at: datetime
    by: str

    @classmethod
    def from_domain(cls, obj: Check) -> CheckOut:
        return cls(
            monitor=obj.monitor,
            seq=obj.seq,
            kind=obj.kind,
            passed=obj.passed,
            details=json_safe(obj.details),
            at=obj.at,
            by=obj.by,
        )

    def to_domain(self) -> Check:
        return Check(
            monitor=self.monitor,
            seq=self.seq,
            kind=self.kind,
            passed=self.passed,
            details=self.details,
            at=self.at,
            by=self.by,
        )


class AlertNoteOut(WireModel):
    at: datetime
    who: str
    what: str
    text: str

    @classmethod
    def from_domain(cls, obj: AlertNote) -> AlertNoteOut:
        return cls(at=obj.at, who=obj.who, what=obj.what, text=obj.text)

    def to_domain(self) -> AlertNote:
        return AlertNote(at=self.at, who=self.who, what=self.what, text=self.text)


class AlertOut(WireModel):
    """An alert: what changed (kind, subject, title), how much (details), since when, in how
    many windows, its state and life (notes), and where to look (link)."""

    id: str
    project: str
    monitor: str
    deployment: str
    kind: AlertKind
    family: AlertFamily  # what a loop's `on` names: the two performance kinds are one
    subject: str
    severity: Severity
    state: AlertState
    owner: str
    title: str
    details: dict[str, Any]
    since: datetime
    first_window: int | None
    last_window: int | None
    windows: int
    opened_at: datetime
    updated_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    notes: list[AlertNoteOut]
    link: str

    @classmethod
    def from_domain(cls, obj: Alert) -> AlertOut:
        return cls(
            id=obj.id,
            project=obj.project,
            monitor=obj.monitor,
            deployment=obj.deployment,
            kind=obj.kind,
            family=obj.kind.family,
            subject=obj.subject,
            severity=obj.severity,
            state=obj.state,
            owner=obj.owner,
            title=obj.title,
            details=json_safe(obj.details),
            since=obj.since,
            first_window=obj.first_window,
            last_window=obj.last_window,
            windows=obj.windows,
            opened_at=obj.opened_at,
            updated_at=obj.updated_at,
            acknowledged_by=obj.acknowledged_by,
            acknowledged_at=obj.acknowledged_at,
            resolved_by=obj.resolved_by,
            resolved_at=obj.resolved_at,
            notes=[AlertNoteOut.from_domain(n) for n in obj.notes],
            link=obj.link,
        )

    def to_domain(self) -> Alert:
        return Alert(
            id=self.id,
            project=self.project,
            monitor=self.monitor,
            deployment=self.deployment,
            kind=self.kind,
            subject=self.subject,
            severity=self.severity,
            state=self.state,
            owner=self.owner,
            title=self.title,
            details=self.details,
            since=self.since,
            first_window=self.first_window,
            last_window=self.last_window,
            windows=self.windows,
            opened_at=self.opened_at,
            updated_at=self.updated_at,
            acknowledged_by=self.acknowledged_by,
            acknowledged_at=self.acknowledged_at,
            resolved_by=self.resolved_by,
            resolved_at=self.resolved_at,
            notes=tuple(n.to_domain() for n in self.notes),
        )


class ProcessResultOut(WireModel):
    monitor: str
    claimed: bool
    segments: int
    rows: int
    closed: list[int]
    updated: list[int]
    opened: list[str]
    resolved: list[str]
    grown: list[str]
    note: str

    @classmethod
    def from_domain(cls, obj: ProcessResult) -> ProcessResultOut:
        return cls(
            monitor=obj.monitor,
            claimed=obj.claimed,
            segments=obj.segments,
            rows=obj.rows,
            closed=list(obj.closed),
            updated=list(obj.updated),
            opened=list(obj.opened),
            resolved=list(obj.resolved),
            grown=list(obj.grown),
            note=obj.note,
        )

    def to_domain(self) -> ProcessResult:
        return ProcessResult(
            monitor=self.monitor,
            claimed=self.claimed,
            segments=self.segments,
            rows=self.rows,
            closed=tuple(self.closed),
            updated=tuple(self.updated),
            opened=tuple(self.opened),
            resolved=tuple(self.resolved),
            grown=tuple(self.grown),
            note=self.note,
        )


class MonitorReportOut(WireModel):
    monitor: MonitorOut
    windows: list[WindowOut]
    checks: list[CheckOut]
    alerts: list[AlertOut]
    generated_at: datetime

    @classmethod
    def from_domain(cls, obj: MonitorReport) -> MonitorReportOut:
        return cls(
            monitor=MonitorOut.from_domain(obj.monitor),
            windows=[WindowOut.from_domain(w) for w in obj.windows],
            checks=[CheckOut.from_domain(c) for c in obj.checks],
            alerts=[AlertOut.from_domain(a) for a in obj.alerts],
            generated_at=obj.generated_at,
        )

    def to_domain(self) -> MonitorReport:
        return MonitorReport(
            monitor=self.monitor.to_domain(),
            windows=tuple(w.to_domain() for w in self.windows),
            checks=tuple(c.to_domain() for c in self.checks),
            alerts=tuple(a.to_domain() for a in self.alerts),
            generated_at=self.generated_at,
        )
