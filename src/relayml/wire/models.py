"""The model registry on the wire: versions, models, alias moves, requirements, cards, policy,
promotion requests with their evidence and reviews, and the inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from relayml.domain.models import (
    AliasMove,
    Environment,
    Evidence,
    EvidenceItem,
    Flavor,
    GoldenSet,
    InboxItem,
    ModelCard,
    ModelInfo,
    ModelVersion,
    PromotionRequest,
    RequestState,
    Requirement,
    Review,
    ReviewKind,
    Signature,
    VersionStatus,
)
from relayml.domain.policy import DEFAULT, Policy, parse_policy
from relayml.wire.common import Number, Time, WireModel


class GoldenSetOut(WireModel):
    digest: str
    rows: int
    size: int

    @classmethod
    def from_domain(cls, obj: GoldenSet) -> GoldenSetOut:
        return cls(digest=obj.digest, rows=obj.rows, size=obj.size)

    def to_domain(self) -> GoldenSet:
        return GoldenSet(digest=self.digest, rows=self.rows, size=self.size)


class ModelVersionOut(WireModel):
    project: str
    name: str
    version: int
    ref: str
    digest: str
    size: int
    flavor: Flavor
    signature: dict[str, Any] | None
    environment: dict[str, Any]
    run_id: str | None
    unsafe_pickle: bool
    status: VersionStatus
    description: str
    tags: dict[str, str]
    created_at: datetime
    created_by: str
    aliases: list[str]
    golden: GoldenSetOut | None = None

    @classmethod
    def from_domain(cls, obj: ModelVersion) -> ModelVersionOut:
        return cls(
            project=obj.project,
            name=obj.name,
            version=obj.version,
            ref=obj.ref,
            digest=obj.digest,
            size=obj.size,
            flavor=obj.flavor,
            signature=obj.signature.to_dict() if obj.signature else None,
            environment=obj.environment.to_dict(),
            run_id=obj.run_id,
            unsafe_pickle=obj.unsafe_pickle,
            status=obj.status,
            description=obj.description,
            tags=dict(obj.tags),
            created_at=obj.created_at,
            created_by=obj.created_by,
            aliases=list(obj.aliases),
            golden=None if obj.golden is None else GoldenSetOut.from_domain(obj.golden),
        )

    def to_domain(self) -> ModelVersion:
        return ModelVersion(
            project=self.project,
            name=self.name,
            version=self.version,
            digest=self.digest,
            size=self.size,
            flavor=self.flavor,
            signature=Signature.from_dict(self.signature) if self.signature else None,
            environment=Environment.from_dict(self.environment),
            run_id=self.run_id,
            unsafe_pickle=self.unsafe_pickle,
            status=self.status,
            description=self.description,
            tags=dict(self.tags),
            created_at=self.created_at,
            created_by=self.created_by,
            aliases=tuple(self.aliases),
            golden=None if self.golden is None else self.golden.to_domain(),
        )


class ModelInfoOut(WireModel):
    project: str
    name: str
    description: str
    created_at: datetime
    created_by: str
    versions: int
    latest: int | None
    aliases: dict[str, int]

    @classmethod
    def from_domain(cls, obj: ModelInfo) -> ModelInfoOut:
        return cls(**{k: getattr(obj, k) for k in cls.model_fields})

    def to_domain(self) -> ModelInfo:
        return ModelInfo(**dict(self))


class AliasMoveOut(WireModel):
    project: str
    model: str
    alias: str
    from_version: int | None
    to_version: int | None
    by: str
    at: datetime
    reason: str
    request_id: str | None

    @classmethod
    def from_domain(cls, obj: AliasMove) -> AliasMoveOut:
        return cls(**{k: getattr(obj, k) for k in cls.model_fields})

    def to_domain(self) -> AliasMove:
        return AliasMove(**dict(self))


class RequirementOut(WireModel):
    project: str
    model: str
    metric: str
    min: float | None
    max: float | None
    set_by: str
    set_at: datetime

    @classmethod
    def from_domain(cls, obj: Requirement) -> RequirementOut:
        return cls(**{k: getattr(obj, k) for k in cls.model_fields})

    def to_domain(self) -> Requirement:
        return Requirement(**dict(self))


class ModelCardOut(WireModel):
    model: str
    fields: dict[str, str]
    revision: int
    updated_by: str | None
    updated_at: datetime | None

    @classmethod
    def from_domain(cls, obj: ModelCard) -> ModelCardOut:
        return cls(**{k: getattr(obj, k) for k in cls.model_fields})

    def to_domain(self) -> ModelCard:
        return ModelCard(**dict(self))


class EvidenceOut(WireModel):
    name: Evidence
    ok: bool
    required: bool
    summary: str
    details: dict[str, Any]


class ReviewOut(WireModel):
    user: str
    kind: ReviewKind
    text: str
    at: datetime
    roles: list[str]


class PromotionRequestOut(WireModel):
    id: str
    project: str
    model: str
    version: int
    ref: str
    alias: str
    state: RequestState
    requester: str
    note: str
    created_at: datetime
    holder_version: int | None
    policy_version: int
    evidence: list[EvidenceOut]
    reviews: list[ReviewOut]
    decided_by: str | None
    decided_at: datetime | None
    override_reason: str | None
    hold: str | None = Field(
        None,
        description="'loop:RUN_ID' when a loop opened the request: its approval makes it "
        "'approved' and starts the loop's canary; the alias moves only if the canary wins",
    )

    @classmethod
    def from_domain(cls, obj: PromotionRequest) -> PromotionRequestOut:
        return cls(
            id=obj.id,
            project=obj.project,
            model=obj.model,
            version=obj.version,
            ref=obj.ref,
            alias=obj.alias,
            state=obj.state,
            requester=obj.requester,
            note=obj.note,
            created_at=obj.created_at,
            holder_version=obj.holder_version,
            policy_version=obj.policy_version,
            evidence=[
                EvidenceOut(
                    name=e.name, ok=e.ok, required=e.required, summary=e.summary, details=e.details
                )
                for e in obj.evidence
            ],
            reviews=[
                ReviewOut(user=r.user, kind=r.kind, text=r.text, at=r.at, roles=list(r.roles))
                for r in obj.reviews
            ],
            decided_by=obj.decided_by,
            decided_at=obj.decided_at,
            override_reason=obj.override_reason,
            hold=obj.hold,
        )

    def to_domain(self) -> PromotionRequest:
        return PromotionRequest(
            id=self.id,
            project=self.project,
            model=self.model,
            version=self.version,
            alias=self.alias,
            state=self.state,
            requester=self.requester,
            note=self.note,
            created_at=self.created_at,
            holder_version=self.holder_version,
            policy_version=self.policy_version,
            evidence=tuple(
                EvidenceItem(e.name, e.ok, e.required, e.summary, e.details) for e in self.evidence
            ),
            reviews=tuple(
                Review(r.user, r.kind, r.text, r.at, tuple(r.roles)) for r in self.reviews
            ),
            decided_by=self.decided_by,
            decided_at=self.decided_at,
            override_reason=self.override_reason,
            hold=self.hold,
        )


class AliasRuleOut(WireModel):
    approvals: int
    approvers: list[str]
    evidence: list[str]
    min_improvement: dict[str, Any] | None
    allow_override: bool


class PolicyOut(WireModel):
    """The project's policy: its YAML text (empty for the built-in default, version 0) and what
    it says, read back."""

    version: int
    text: str
    protected: dict[str, AliasRuleOut]
    separation_of_duties: bool
    evaluation: dict[str, Any] | None
    model_card: list[str]

    @classmethod
    def from_domain(cls, obj: Policy) -> PolicyOut:
        return cls(
            version=obj.version,
            text=obj.text,
            protected={
                alias: AliasRuleOut(
                    approvals=r.approvals,
                    approvers=sorted(r.approvers),
                    evidence=[e.value for e in r.evidence],
                    min_improvement=(
                        {"metric": r.min_improvement.metric, "by": r.min_improvement.by}
                        if r.min_improvement
                        else None
                    ),
                    allow_override=r.allow_override,
                )
                for alias, r in obj.protected.items()
            },
            separation_of_duties=obj.separation_of_duties,
            evaluation=(
                {
                    "dataset": obj.evaluation.dataset,
                    "target": obj.evaluation.target,
                    "slices": list(obj.evaluation.slices),
                }
                if obj.evaluation
                else None
            ),
            model_card=list(obj.model_card),
        )

    def to_domain(self) -> Policy:
        return parse_policy(self.text, self.version) if self.version else DEFAULT


class InboxItemOut(WireModel):
    kind: str
    project: str
    id: str
    title: str
    created_at: datetime
    by: str
    severity: str | None = None

    @classmethod
    def from_domain(cls, obj: InboxItem) -> InboxItemOut:
        return cls(**{k: getattr(obj, k) for k in cls.model_fields})

    def to_domain(self) -> InboxItem:
        return InboxItem(**dict(self))


class SliceOut(WireModel):
    column: str
    value: str
    rows: int
    metrics: dict[str, Number]


class EvaluationOut(WireModel):
    """A model version's metrics on a dataset version, overall and per slice."""

    model: str
    dataset: str
    target: str
    task: str
    rows: int
    metrics: dict[str, Number]
    calibration: dict[str, Any] | None
    slices: list[SliceOut]


# --- the compliance report (services/model_report.py builds it; times are ISO 8601) --------


class ReportVersionOut(WireModel):
    name: str
    version: int
    ref: str
    digest: str
    size: int
    flavor: Flavor
    unsafe_pickle: bool
    status: VersionStatus
    description: str
    tags: dict[str, str]
    aliases: list[str]
    created_at: Time
    created_by: str
    signature: dict[str, Any] | None
    environment: dict[str, Any]
    run_id: str | None


class ReportRunOut(WireModel):
    id: str
    experiment: str
    name: str
    status: str
    user: str
    start_time: Time
    end_time: Time | None
    params: dict[str, str]
    metrics: dict[str, Number]
    tags: dict[str, str]


class ReportProducerOut(WireModel):
    pipeline_run: str
    pipeline: str
    step: str | None
    status: str
    params: dict[str, Any]
    steps: list[str]
    started_at: Time
    ended_at: Time | None


class ReportDatasetOut(WireModel):
    ref: str
    digest: str
    rows: int
    status: str
    description: str
    source: str
    created_at: Time
    created_by: str
    columns: list[dict[str, Any]]
    contract: str | None
    quality: dict[str, Any] | None
    parents: list[str]
    producer: ReportProducerOut | None
    released_by: str | None
    release_reason: str | None


class ReportReviewOut(WireModel):
    user: str
    kind: ReviewKind
    text: str
    at: Time
    roles: list[str]


class ReportPromotionOut(WireModel):
    id: str
    alias: str
    state: RequestState
    requester: str
    note: str
    created_at: Time
    holder_version: int | None
    policy_version: int
    decided_by: str | None
    decided_at: Time | None
    override_reason: str | None
    evidence: list[EvidenceOut]
    reviews: list[ReportReviewOut]


class ReportRequirementOut(WireModel):
    metric: str
    min: Number | None
    max: Number | None
    set_by: str
    set_at: Time


class ReportRuleOut(WireModel):
    approvals: int
    approvers: list[str]
    evidence: list[Evidence]
    allow_override: bool


class ReportPolicyOut(WireModel):
    version: int
    separation_of_duties: bool
    protected: dict[str, ReportRuleOut]


class ReportCardOut(WireModel):
    revision: int
    updated_by: str | None
    updated_at: Time | None
    fields: dict[str, str]


class ReportAliasMoveOut(WireModel):
    alias: str
    from_version: int | None
    to_version: int | None
    by: str
    at: Time
    reason: str
    request_id: str | None


class ReportAuditEventOut(WireModel):
    seq: int
    at: Time
    actor: str
    roles: list[str]
    action: str
    entity: str
    outcome: str
    count: int
    hash: str


class ReportAuditOut(WireModel):
    verified: bool
    checked: int
    first_bad_seq: int | None
    reason: str
    checkpoints: int
    events: list[ReportAuditEventOut]


class ComplianceReportOut(WireModel):
    """What `relay models report` renders: everything Relay holds about one model version,
    organised for EU AI Act Annex IV technical documentation (docs/models.md)."""

    format: int
    project: str
    generated_at: Time
    generated_by: str
    model: ReportVersionOut
    run: ReportRunOut | None
    datasets: list[ReportDatasetOut]
    promotion: ReportPromotionOut | None
    requirements: list[ReportRequirementOut]
    policy: ReportPolicyOut
    card: ReportCardOut
    alias_history: list[ReportAliasMoveOut]
    audit: ReportAuditOut
