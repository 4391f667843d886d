"""Request bodies of the REST API, validated declaratively by pydantic.

These check shape and JSON types only; names, keys, roles and limits are checked by the domain
and service layer, so every interface (SDK, REST, CLI) refuses the same values the same way.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from relayml.domain.numbers import NonFinite
from relayml.domain.tracking import INT64_MAX, INT64_MIN

Scalar = str | int | float | bool | None
"""A param or tag value as JSON carries it; the service turns it into its string form."""

Step = Annotated[StrictInt, Field(ge=INT64_MIN, le=INT64_MAX)]
TimestampMs = Annotated[StrictInt, Field(ge=0, le=INT64_MAX)]

MetricRow = tuple[str, StrictFloat | NonFinite, Step, TimestampMs]
"""One metric point: `[key, value, step, timestamp_ms]`. A value is a number, never `true`
or `false` (the SDK's rule); a step is a 64-bit integer; a timestamp is milliseconds since the
epoch."""


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectCreate(Body):
    name: str = Field(examples=["churn"])
    description: str = ""


_EXPIRES = Field(
    None,
    description="How long the token lasts, e.g. '90d', '12h' (default 90d, at most 365d)",
    examples=["30d"],
)


class UserCreate(Body):
    name: str = Field(examples=["alice"])
    roles: list[str] = Field(min_length=1, examples=[["data_scientist"]])
    project: str = Field("default", examples=["churn"])
    expires: str | None = _EXPIRES


class TokenCreate(Body):
    expires: str | None = _EXPIRES


class GrantCreate(Body):
    role: str = Field(
        description="A built-in role or one the project defines (GET /api/v1/roles)",
        examples=["data_scientist"],
    )
    project: str = Field(examples=["churn"])


class RolesApply(Body):
    text: str = Field(
        description="The roles document as YAML (docs/admin.md#custom-roles)",
        examples=["roles:\n  risk_officer:\n    actions: [model.read, promotion.approve]\n"],
    )
    project: str | None = Field(
        None, description="The project it applies to; none or '*': the installation"
    )


class RunCreate(Body):
    experiment: str = Field(examples=["baseline"])
    name: str | None = None
    params: dict[str, Scalar] = Field(default_factory=dict)
    tags: dict[str, Scalar] = Field(default_factory=dict)
    parent_id: str | None = None


class LogBatch(Body):
    params: dict[str, Scalar] = Field(default_factory=dict)
    tags: dict[str, Scalar] = Field(default_factory=dict)
    metrics: list[MetricRow] = Field(
        default_factory=list,
        description='Points as [key, value, step, timestamp_ms]; value may be "NaN", '
        '"Infinity" or "-Infinity".',
        examples=[[["loss", 0.31, 1, 1700000000000]]],
    )


class RunEnd(Body):
    status: str = Field("finished", examples=["finished"])


class LoopAttach(Body):
    """A loop to attach: its name and settings (`LoopSpecOut` says what each does)."""

    name: str = Field(examples=["retrain-churn"])
    pipeline: str = Field(examples=["retrain"])
    deployment: str = Field(examples=["churn-api"])
    on: list[str] = Field(default_factory=list, examples=[["data_drift"]])
    candidate_step: str = "register"
    params: dict[str, Any] = Field(default_factory=dict)
    evaluate_on: str | None = Field(None, examples=["holdout"])
    target: str | None = Field(None, examples=["churned"])
    canary_percent: float = 10.0
    min_feedback: int = 100
    canary_timeout: float | str = Field(7 * 86_400.0, examples=["7d"])
    pipeline_timeout: float | str = Field(6 * 3600.0, examples=["6h"])
    alpha: float = 0.05


class LoopReason(Body):
    reason: str = Field(examples=["drift on tenure since the pricing change"])


class LoopAlert(Body):
    """An alert the monitors raised, for the loops that react to its kind."""

    deployment: str
    kind: str = Field(examples=["data_drift"], description="the alert's family")
    alert: str = Field(description="the alert's id: one loop run per alert")
    summary: str = ""


class CanaryEvidenceBody(Body):
    metric: str = Field(examples=["accuracy"])
    canary_n: int
    canary_value: float
    primary_n: int
    primary_value: float
    test: str
    pvalue: float


class LoopDecide(Body):
    """The canary's comparison with the primary; null: none yet (only the timeout can decide)."""

    evidence: CanaryEvidenceBody | None = None
