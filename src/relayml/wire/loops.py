"""Loops on the wire: a loop's settings, a loop, a loop run with its record of steps, and the
canary comparison a runner hands to `decide`."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from relayml.domain.loops import (
    CanaryEvidence,
    Loop,
    LoopRun,
    LoopSpec,
    LoopState,
    LoopStep,
    StepKind,
)
from relayml.domain.monitors import AlertFamily
from relayml.domain.numbers import json_safe
from relayml.wire.common import Time, WireModel, maybe_time_in, maybe_time_out, time_in, time_out


class LoopSpecOut(WireModel):
    """What a loop does: run `pipeline` (with `params`), take the model ref its step
    `candidate_step` returns as the candidate, evaluate it against the holder of the alias
    `deployment` follows on `evaluate_on` (a dataset's newest usable version; none: the
    policy's), open a held promotion request, and once approved serve it as a canary at
    `canary_percent` % until both arms have `min_feedback` rows with feedback (or
    `canary_timeout` seconds pass)."""

    pipeline: str
    deployment: str
    on: list[AlertFamily] = Field(default_factory=list, examples=[["data_drift", "performance"]])
    candidate_step: str = "register"
    params: dict[str, Any] = Field(default_factory=dict)
    evaluate_on: str | None = Field(None, examples=["holdout"])
    target: str | None = Field(None, examples=["churned"])
    canary_percent: float = 10.0
    min_feedback: int = 100
    canary_timeout: float = Field(7 * 86_400.0, description="seconds")
    pipeline_timeout: float = Field(6 * 3600.0, description="seconds")
    alpha: float = 0.05

    @classmethod
    def from_domain(cls, obj: LoopSpec) -> LoopSpecOut:
        return cls(
            pipeline=obj.pipeline,
            deployment=obj.deployment,
            on=list(obj.on),
            candidate_step=obj.candidate_step,
            params=dict(obj.params),
            evaluate_on=obj.evaluate_on,
            target=obj.target,
            canary_percent=obj.canary_percent,
            min_feedback=obj.min_feedback,
            canary_timeout=obj.canary_timeout,
            pipeline_timeout=obj.pipeline_timeout,
            alpha=obj.alpha,
        )

    def to_domain(self) -> LoopSpec:
        return LoopSpec(
            pipeline=self.pipeline,
            deployment=self.deployment,
            on=tuple(self.on),
            candidate_step=self.candidate_step,
            params=dict(self.params),
            evaluate_on=self.evaluate_on,
            target=self.target,
            canary_percent=self.canary_percent,
            min_feedback=self.min_feedback,
            canary_timeout=self.canary_timeout,
            pipeline_timeout=self.pipeline_timeout,
            alpha=self.alpha,
        )


class LoopOut(WireModel):
    project: str
    name: str
    spec: LoopSpecOut
    model: str
    alias: str
    created_by: str
    created_at: Time
    detached_by: str | None
    detached_at: Time | None
    detach_reason: str | None

    @classmethod
    def from_domain(cls, obj: Loop) -> LoopOut:
        return cls(
            project=obj.project,
            name=obj.name,
            spec=LoopSpecOut.from_domain(obj.spec),
            model=obj.model,
            alias=obj.alias,
            created_by=obj.created_by,
            created_at=time_out(obj.created_at),
            detached_by=obj.detached_by,
            detached_at=maybe_time_out(obj.detached_at),
            detach_reason=obj.detach_reason,
        )

    def to_domain(self) -> Loop:
        return Loop(
            project=self.project,
            name=self.name,
            spec=self.spec.to_domain(),
            model=self.model,
            alias=self.alias,
            created_by=self.created_by,
            created_at=time_in(self.created_at),
            detached_by=self.detached_by,
            detached_at=maybe_time_in(self.detached_at),
            detach_reason=self.detach_reason,
        )


class LoopStepOut(WireModel):
    kind: StepKind
    at: Time
    actor: str
    text: str
    detail: dict[str, Any]

    @classmethod
    def from_domain(cls, obj: LoopStep) -> LoopStepOut:
        return cls(
            kind=obj.kind, at=time_out(obj.at), actor=obj.actor, text=obj.text,
            detail=json_safe(obj.detail),
        )  # fmt: skip

    def to_domain(self) -> LoopStep:
        return LoopStep(self.kind, time_in(self.at), self.actor, self.text, dict(self.detail))


class LoopRunOut(WireModel):
    """One pass through a loop: its state, what started it, the pipeline run, candidate,
    promotion request and canary it led to, and every step with who did it and when."""

    id: str
    project: str
    loop: str
    state: LoopState
    trigger: str
    reason: str
    started_by: str
    started_at: Time
    revision: int
    alert: str | None
    pipeline_run: str | None
    candidate: str | None
    request: str | None
    canary_since: Time | None
    ended_at: Time | None
    attempts: int
    steps: list[LoopStepOut]

    @classmethod
    def from_domain(cls, obj: LoopRun) -> LoopRunOut:
        return cls(
            id=obj.id,
            project=obj.project,
            loop=obj.loop,
            state=obj.state,
            trigger=obj.trigger,
            reason=obj.reason,
            started_by=obj.started_by,
            started_at=time_out(obj.started_at),
            revision=obj.revision,
            alert=obj.alert,
            pipeline_run=obj.pipeline_run,
            candidate=obj.candidate,
            request=obj.request,
            canary_since=maybe_time_out(obj.canary_since),
            ended_at=maybe_time_out(obj.ended_at),
            attempts=obj.attempts,
            steps=[LoopStepOut.from_domain(s) for s in obj.steps],
        )

    def to_domain(self) -> LoopRun:
        return LoopRun(
            id=self.id,
            project=self.project,
            loop=self.loop,
            state=self.state,
            trigger=self.trigger,
            reason=self.reason,
            started_by=self.started_by,
            started_at=time_in(self.started_at),
            revision=self.revision,
            alert=self.alert,
            pipeline_run=self.pipeline_run,
            candidate=self.candidate,
            request=self.request,
            canary_since=maybe_time_in(self.canary_since),
            ended_at=maybe_time_in(self.ended_at),
            attempts=self.attempts,
            steps=tuple(s.to_domain() for s in self.steps),
        )


class CanaryEvidenceOut(WireModel):
    """The canary's realised performance against the primary's (`relay deployments compare`:
    accuracy for classifiers, mean absolute error for regressors, on rows with feedback)."""

    metric: str = Field(examples=["accuracy"])
    canary_n: int
    canary_value: float
    primary_n: int
    primary_value: float
    test: str = Field(examples=["two-proportion z"])
    pvalue: float

    @classmethod
    def from_domain(cls, obj: CanaryEvidence) -> CanaryEvidenceOut:
        return cls(
            metric=obj.metric, canary_n=obj.canary_n, canary_value=obj.canary_value,
            primary_n=obj.primary_n, primary_value=obj.primary_value, test=obj.test,
            pvalue=obj.pvalue,
        )  # fmt: skip

    def to_domain(self) -> CanaryEvidence:
        return CanaryEvidence(
            self.metric, self.canary_n, self.canary_value, self.primary_n, self.primary_value,
            self.test, self.pvalue,
        )  # fmt: skip
