"""Pipelines on the wire: definitions, runs with their steps, cached outputs."""

from __future__ import annotations

from typing import Any

from relayml.domain.pipelines import PipelineInfo, PipelineRun, StepOutput, StepRun
from relayml.wire.common import Time, WireModel


class StepSpecOut(WireModel):
    name: str
    upstream: list[str] = []


class PipelineOut(WireModel):
    project: str
    name: str
    module: str
    schedule: str | None
    params: dict[str, Any]
    steps: list[StepSpecOut]
    created_at: Time
    created_by: str
    updated_at: Time
    last_scheduled: Time | None = None
    schedule_since: Time | None = None

    @classmethod
    def from_domain(cls, obj: PipelineInfo) -> PipelineOut:
        return cls.model_validate(obj.to_dict())

    def to_domain(self) -> PipelineInfo:
        return PipelineInfo.from_dict(self.model_dump())


class StepOutputOut(WireModel):
    kind: str
    digest: str
    value: Any = None
    ref: str | None = None
    format: str | None = None
    name: str | None = None
    size: int = 0

    @classmethod
    def from_domain(cls, obj: StepOutput) -> StepOutputOut:
        return cls.model_validate(obj.to_dict())

    def to_domain(self) -> StepOutput:
        return StepOutput.from_dict(self.model_dump())


class StepRunOut(WireModel):
    name: str
    status: str
    upstream: list[str]
    attempts: int
    cache_key: str | None
    cached: bool
    output: StepOutputOut | None
    logs_digest: str | None
    error: str | None
    user_traceback: str | None
    started_at: Time | None
    ended_at: Time | None
    duration: float | None

    @classmethod
    def from_domain(cls, obj: StepRun) -> StepRunOut:
        return cls.model_validate(obj.to_dict())

    def to_domain(self) -> StepRun:
        return StepRun.from_dict(self.model_dump())


class PipelineRunOut(WireModel):
    id: str
    project: str
    pipeline: str
    trigger: str
    executor: str
    params: dict[str, Any]
    status: str
    user: str
    started_at: Time
    ended_at: Time | None
    error: str | None
    scheduled_for: Time | None
    duration: float | None
    steps: list[StepRunOut]

    @classmethod
    def from_domain(cls, obj: PipelineRun) -> PipelineRunOut:
        return cls.model_validate(obj.to_dict())

    def to_domain(self) -> PipelineRun:
        return PipelineRun.from_dict(self.model_dump())


class CachedOutputOut(WireModel):
    """A cache lookup: the step output stored under the key, or null."""

    output: StepOutputOut | None

    @classmethod
    def from_domain(cls, obj: StepOutput | None) -> CachedOutputOut:
        return cls.model_validate({"output": obj.to_dict() if obj else None})
