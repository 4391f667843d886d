"""Deployments on the wire: deployments with their traffic rules, what they resolve to, their
history, prediction-log segments and feedback."""

from __future__ import annotations

from datetime import datetime

from relayml.domain.deployment_traffic import ArmLatency, Traffic
from relayml.domain.deployments import (
    ArmRole,
    Deployment,
    DeploymentAction,
    DeploymentChange,
    DeploymentState,
    DeploymentStatus,
    Feedback,
    FeedbackBatch,
    LogSegment,
    Resolution,
    ServedArm,
    TrafficRules,
)
from relayml.domain.numbers import decode_float, encode_float
from relayml.wire.common import Number, WireModel


class TrafficRulesOut(WireModel):
    canary: str | None
    canary_percent: float
    sticky_key: str | None
    shadow: str | None

    @classmethod
    def from_domain(cls, obj: TrafficRules) -> TrafficRulesOut:
        return cls(
            canary=obj.canary,
            canary_percent=obj.canary_percent,
            sticky_key=obj.sticky_key,
            shadow=obj.shadow,
        )

    def to_domain(self) -> TrafficRules:
        return TrafficRules(
            canary=self.canary,
            canary_percent=self.canary_percent,
            sticky_key=self.sticky_key,
            shadow=self.shadow,
        )


class DeploymentOut(WireModel):
    id: str
    project: str
    name: str
    target: str
    model: str
    pinned: bool
    traffic: TrafficRulesOut
    revision: int
    status: DeploymentStatus
    unsafe_pickle: bool
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime

    @classmethod
    def from_domain(cls, obj: Deployment) -> DeploymentOut:
        return cls(
            id=obj.id,
            project=obj.project,
            name=obj.name,
            target=obj.target,
            model=obj.model,
            pinned=obj.pinned,
            traffic=TrafficRulesOut.from_domain(obj.traffic),
            revision=obj.revision,
            status=obj.status,
            unsafe_pickle=obj.unsafe_pickle,
            created_by=obj.created_by,
            created_at=obj.created_at,
            updated_by=obj.updated_by,
            updated_at=obj.updated_at,
        )

    def to_domain(self) -> Deployment:
        return Deployment(
            id=self.id,
            project=self.project,
            name=self.name,
            target=self.target,
            model=self.model,
            traffic=self.traffic.to_domain(),
            revision=self.revision,
            status=self.status,
            created_by=self.created_by,
            created_at=self.created_at,
            updated_by=self.updated_by,
            updated_at=self.updated_at,
            unsafe_pickle=self.unsafe_pickle,
        )


class ServedArmOut(WireModel):
    role: ArmRole
    ref: str
    model: str
    version: int
    digest: str
    flavor: str
    weight: float

    @classmethod
    def from_domain(cls, obj: ServedArm) -> ServedArmOut:
        return cls(
            role=obj.role,
            ref=obj.ref,
            model=obj.model,
            version=obj.version,
            digest=obj.digest,
            flavor=obj.flavor,
            weight=obj.weight,
        )

    def to_domain(self) -> ServedArm:
        return ServedArm(
            role=self.role,
            ref=self.ref,
            model=self.model,
            version=self.version,
            digest=self.digest,
            flavor=self.flavor,
            weight=self.weight,
        )


class ResolutionOut(WireModel):
    """What a model server serves now: each arm's exact version and digest."""

    deployment: str
    project: str
    revision: int
    arms: list[ServedArmOut]
    resolved_at: datetime
    sticky_key: str | None
    unsafe_pickle: bool

    @classmethod
    def from_domain(cls, obj: Resolution) -> ResolutionOut:
        return cls(
            deployment=obj.deployment,
            project=obj.project,
            revision=obj.revision,
            arms=[ServedArmOut.from_domain(a) for a in obj.arms],
            resolved_at=obj.resolved_at,
            sticky_key=obj.sticky_key,
            unsafe_pickle=obj.unsafe_pickle,
        )

    def to_domain(self) -> Resolution:
        return Resolution(
            deployment=self.deployment,
            project=self.project,
            revision=self.revision,
            arms=tuple(a.to_domain() for a in self.arms),
            resolved_at=self.resolved_at,
            sticky_key=self.sticky_key,
            unsafe_pickle=self.unsafe_pickle,
        )


class DeploymentStateOut(WireModel):
    target: str
    traffic: TrafficRulesOut
    primary_version: int | None
    status: DeploymentStatus

    @classmethod
    def from_domain(cls, obj: DeploymentState) -> DeploymentStateOut:
        return cls(
            target=obj.target,
            traffic=TrafficRulesOut.from_domain(obj.traffic),
            primary_version=obj.primary_version,
            status=obj.status,
        )

    def to_domain(self) -> DeploymentState:
        return DeploymentState(
            target=self.target,
            traffic=self.traffic.to_domain(),
            primary_version=self.primary_version,
            status=self.status,
        )


class DeploymentChangeOut(WireModel):
    deployment: str
    revision: int
    action: DeploymentAction
    who: str
    at: datetime
    reason: str
    before: DeploymentStateOut | None
    after: DeploymentStateOut

    @classmethod
    def from_domain(cls, obj: DeploymentChange) -> DeploymentChangeOut:
        return cls(
            deployment=obj.deployment,
            revision=obj.revision,
            action=obj.action,
            who=obj.who,
            at=obj.at,
            reason=obj.reason,
            before=DeploymentStateOut.from_domain(obj.before) if obj.before else None,
            after=DeploymentStateOut.from_domain(obj.after),
        )

    def to_domain(self) -> DeploymentChange:
        return DeploymentChange(
            deployment=self.deployment,
            revision=self.revision,
            action=self.action,
            who=self.who,
            at=self.at,
            reason=self.reason,
            before=self.before.to_domain() if self.before else None,
            after=self.after.to_domain(),
        )


class LogSegmentOut(WireModel):
    id: str
    deployment: str
    project: str
    uri: str
    digest: str
    records: int
    first_at: datetime
    last_at: datetime
    server_id: str
    registered_at: datetime

    @classmethod
    def from_domain(cls, obj: LogSegment) -> LogSegmentOut:
        return cls(
            id=obj.id,
            deployment=obj.deployment,
            project=obj.project,
            uri=obj.uri,
            digest=obj.digest,
            records=obj.records,
            first_at=obj.first_at,
            last_at=obj.last_at,
            server_id=obj.server_id,
            registered_at=obj.registered_at,
        )

    def to_domain(self) -> LogSegment:
        return LogSegment(
            id=self.id,
            deployment=self.deployment,
            project=self.project,
            uri=self.uri,
            digest=self.digest,
            records=self.records,
            first_at=self.first_at,
            last_at=self.last_at,
            server_id=self.server_id,
            registered_at=self.registered_at,
        )


class FeedbackBatchOut(WireModel):
    deployment: str
    project: str
    added: int
    replaced: int
    sha256: str

    @classmethod
    def from_domain(cls, obj: FeedbackBatch) -> FeedbackBatchOut:
        return cls(
            deployment=obj.deployment,
            project=obj.project,
            added=obj.added,
            replaced=obj.replaced,
            sha256=obj.sha256,
        )

    def to_domain(self) -> FeedbackBatch:
        return FeedbackBatch(
            deployment=self.deployment,
            project=self.project,
            added=self.added,
            replaced=self.replaced,
            sha256=self.sha256,
        )


class FeedbackOut(WireModel):
    prediction_id: str
    deployment: str
    project: str
    label: bool | int | float | str | None
    outcome: float | None
    comment: str | None
    who: str
    at: datetime

    @classmethod
    def from_domain(cls, obj: Feedback) -> FeedbackOut:
        return cls(
            prediction_id=obj.prediction_id,
            deployment=obj.deployment,
            project=obj.project,
            label=obj.label,
            outcome=obj.outcome,
            comment=obj.comment,
            who=obj.who,
            at=obj.at,
        )

    def to_domain(self) -> Feedback:
        return Feedback(
            prediction_id=self.prediction_id,
            deployment=self.deployment,
            project=self.project,
            label=self.label,
            outcome=self.outcome,
            comment=self.comment,
            who=self.who,
            at=self.at,
        )


class ArmLatencyOut(WireModel):
    arm: str
    version: int
    requests: int
    rows: int
    latency_ms: dict[str, Number]  # p50, p95, p99; "NaN" when the arm logged no latency

    @classmethod
    def from_domain(cls, obj: ArmLatency) -> ArmLatencyOut:
        latency = {k: encode_float(v) for k, v in obj.latency_ms.items()}
        return cls(
            arm=obj.arm, version=obj.version, requests=obj.requests, rows=obj.rows,
            latency_ms=latency,
        )  # fmt: skip

    def to_domain(self) -> ArmLatency:
        latency = {k: decode_float(v) for k, v in self.latency_ms.items()}
        return ArmLatency(self.arm, self.version, self.requests, self.rows, latency)


class TrafficOut(WireModel):
    """Requests per minute per arm (oldest minute first) and latency per arm and version."""

    start: datetime
    minutes: int
    as_of: datetime
    per_minute: dict[str, list[int]]
    arms: list[ArmLatencyOut]
    requests: int
    rows: int
    segments: int
    segments_read: int
    rows_unread: int

    @classmethod
    def from_domain(cls, obj: Traffic) -> TrafficOut:
        return cls(
            start=obj.start,
            minutes=obj.minutes,
            as_of=obj.as_of,
            per_minute={k: list(v) for k, v in obj.per_minute.items()},
            arms=[ArmLatencyOut.from_domain(a) for a in obj.arms],
            requests=obj.requests,
            rows=obj.rows,
            segments=obj.segments,
            segments_read=obj.segments_read,
            rows_unread=obj.rows_unread,
        )

    def to_domain(self) -> Traffic:
        return Traffic(
            start=self.start,
            minutes=self.minutes,
            as_of=self.as_of,
            per_minute={k: tuple(v) for k, v in self.per_minute.items()},
            arms=tuple(a.to_domain() for a in self.arms),
            requests=self.requests,
            rows=self.rows,
            segments=self.segments,
            segments_read=self.segments_read,
            rows_unread=self.rows_unread,
        )
