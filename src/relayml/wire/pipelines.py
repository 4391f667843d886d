"""Pipelines on the wire: definitions, runs with their steps, cached outputs."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from relayml.domain.pipelines import (
    BackfillPlan,
    DatasetTrigger,
    DueTrigger,
    PipelineInfo,
    PipelineRun,
    StepOutput,
    StepRun,
    StepSpec,
    StepStatus,
    Trigger,
    check_step_name,
)
from relayml.domain.scheduling import Pause
from relayml.domain.tracking import RunStatus
from relayml.wire.common import (
    Time,
    WireModel,
    maybe_time_in,
    maybe_time_out,
    time_in,
    time_out,
)


class StepSpecOut(WireModel):
    name: str
    upstream: list[str] = []

    @classmethod
    def from_domain(cls, obj: StepSpec) -> StepSpecOut:
        return cls(name=obj.name, upstream=list(obj.upstream))

    def to_domain(self) -> StepSpec:
        return StepSpec(check_step_name(self.name), tuple(self.upstream))


class PauseOut(WireModel):
    """Who paused a schedule, when, and why."""

    by: str
    at: Time
    reason: str

    @classmethod
    def from_domain(cls, obj: Pause) -> PauseOut:
        return cls(by=obj.by, at=time_out(obj.at), reason=obj.reason)

    def to_domain(self) -> Pause:
        return Pause(by=self.by, at=time_in(self.at), reason=self.reason)


class DatasetTriggerOut(WireModel):
    """A dataset whose new versions start the pipeline."""

    dataset: str
    last_version: int = Field(
        description="The newest version that started a run, or the newest when the trigger "
        "was set: only later versions start it"
    )

    @classmethod
    def from_domain(cls, obj: DatasetTrigger) -> DatasetTriggerOut:
        return cls(dataset=obj.dataset, last_version=obj.last_version)

    def to_domain(self) -> DatasetTrigger:
        return DatasetTrigger(self.dataset, self.last_version)


class DueTriggerOut(WireModel):
    """A published version that should start a pipeline and has not yet."""

    project: str
    pipeline: str
    dataset: str
    version: int

    @classmethod
    def from_domain(cls, obj: DueTrigger) -> DueTriggerOut:
        return cls(
            project=obj.project, pipeline=obj.pipeline, dataset=obj.dataset, version=obj.version
        )

    def to_domain(self) -> DueTrigger:
        return DueTrigger(self.project, self.pipeline, self.dataset, self.version)


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
    paused: PauseOut | None = None
    next_run: Time | None = Field(
        None, description="The slot the scheduler starts next; null without a schedule or paused"
    )
    on_publish: list[DatasetTriggerOut] = []

    @classmethod
    def from_domain(cls, obj: PipelineInfo) -> PipelineOut:
        return cls(
            project=obj.project,
            name=obj.name,
            module=obj.module,
            schedule=obj.schedule,
            params=dict(obj.params),
            steps=[StepSpecOut.from_domain(s) for s in obj.steps],
            created_at=time_out(obj.created_at),
            created_by=obj.created_by,
            updated_at=time_out(obj.updated_at),
            last_scheduled=maybe_time_out(obj.last_scheduled),
            schedule_since=maybe_time_out(obj.schedule_since),
            paused=PauseOut.from_domain(obj.paused) if obj.paused else None,
            next_run=maybe_time_out(obj.next_run),
            on_publish=[DatasetTriggerOut.from_domain(t) for t in obj.on_publish],
        )

    def to_domain(self) -> PipelineInfo:
        return PipelineInfo(
            project=self.project,
            name=self.name,
            module=self.module,
            schedule=self.schedule,
            params=dict(self.params),
            steps=[s.to_domain() for s in self.steps],
            created_at=time_in(self.created_at),
            created_by=self.created_by,
            updated_at=time_in(self.updated_at),
            last_scheduled=maybe_time_in(self.last_scheduled),
            schedule_since=maybe_time_in(self.schedule_since),
            paused=self.paused.to_domain() if self.paused else None,
            next_run=maybe_time_in(self.next_run),
            on_publish=[t.to_domain() for t in self.on_publish],
        )


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
        return cls(
            kind=obj.kind,
            digest=obj.digest,
            value=obj.value,
            ref=obj.ref,
            format=obj.format,
            name=obj.name,
            size=obj.size,
        )

    def to_domain(self) -> StepOutput:
        return StepOutput(
            kind=self.kind,
            digest=self.digest,
            value=self.value,
            ref=self.ref,
            format=self.format,
            name=self.name,
            size=self.size,
        )


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
        return cls(
            name=obj.name,
            status=obj.status.value,
            upstream=list(obj.upstream),
            attempts=obj.attempts,
            cache_key=obj.cache_key,
            cached=obj.cached,
            output=StepOutputOut.from_domain(obj.output) if obj.output else None,
            logs_digest=obj.logs_digest,
            error=obj.error,
            user_traceback=obj.user_traceback,
            started_at=maybe_time_out(obj.started_at),
            ended_at=maybe_time_out(obj.ended_at),
            duration=obj.duration,
        )

    def to_domain(self) -> StepRun:
        return StepRun(
            name=self.name,
            status=StepStatus(self.status),
            upstream=tuple(self.upstream),
            attempts=self.attempts,
            cache_key=self.cache_key,
            cached=self.cached,
            output=self.output.to_domain() if self.output else None,
            logs_digest=self.logs_digest,
            error=self.error,
            user_traceback=self.user_traceback,
            started_at=maybe_time_in(self.started_at),
            ended_at=maybe_time_in(self.ended_at),
        )


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
    dataset: str | None = Field(None, description="The version whose publication started it")
    duration: float | None
    steps: list[StepRunOut]

    @classmethod
    def from_domain(cls, obj: PipelineRun) -> PipelineRunOut:
        return cls(
            id=obj.id,
            project=obj.project,
            pipeline=obj.pipeline,
            trigger=obj.trigger.value,
            executor=obj.executor,
            params=dict(obj.params),
            status=obj.status.value,
            user=obj.user,
            started_at=time_out(obj.started_at),
            ended_at=maybe_time_out(obj.ended_at),
            error=obj.error,
            scheduled_for=maybe_time_out(obj.scheduled_for),
            dataset=obj.dataset,
            duration=obj.duration,
            steps=[StepRunOut.from_domain(s) for s in obj.steps],
        )

    def to_domain(self) -> PipelineRun:
        return PipelineRun(
            id=self.id,
            project=self.project,
            pipeline=self.pipeline,
            trigger=Trigger(self.trigger),
            executor=self.executor,
            params=dict(self.params),
            status=RunStatus(self.status),
            user=self.user,
            started_at=time_in(self.started_at),
            ended_at=maybe_time_in(self.ended_at),
            error=self.error,
            scheduled_for=maybe_time_in(self.scheduled_for),
            dataset=self.dataset,
            steps=[s.to_domain() for s in self.steps],
        )


class CachedOutputOut(WireModel):
    """A cache lookup: the step output stored under the key, or null."""

    output: StepOutputOut | None

    @classmethod
    def from_domain(cls, obj: StepOutput | None) -> CachedOutputOut:
        return cls(output=StepOutputOut.from_domain(obj) if obj else None)

    def to_domain(self) -> StepOutput | None:
        return self.output.to_domain() if self.output else None


class SkippedSlotOut(WireModel):
    slot: Time
    run_id: str = Field(description="The finished run that did this slot")


class BackfillPlanOut(WireModel):
    """The slots a backfill runs, oldest first, and those it skips (a run finished them)."""

    project: str
    pipeline: str
    cron: str
    start: Time
    end: Time
    until: Time = Field(description="The end, or the moment of planning if the end is later")
    slots: list[Time]
    skipped: list[SkippedSlotOut]

    @classmethod
    def from_domain(cls, obj: BackfillPlan) -> BackfillPlanOut:
        return cls(
            project=obj.project,
            pipeline=obj.pipeline,
            cron=obj.cron,
            start=time_out(obj.start),
            end=time_out(obj.end),
            until=time_out(obj.until),
            slots=[time_out(s) for s in obj.slots],
            skipped=[SkippedSlotOut(slot=time_out(s), run_id=r) for s, r in obj.skipped],
        )

    def to_domain(self) -> BackfillPlan:
        return BackfillPlan(
            project=self.project,
            pipeline=self.pipeline,
            cron=self.cron,
            start=time_in(self.start),
            end=time_in(self.end),
            until=time_in(self.until),
            slots=[time_in(s) for s in self.slots],
            skipped=[(time_in(s.slot), s.run_id) for s in self.skipped],
        )


class BackfillOut(WireModel):
    """What `relay pipelines backfill --json` prints: the plan and the runs it started."""

    plan: BackfillPlanOut
    runs: list[PipelineRunOut]
