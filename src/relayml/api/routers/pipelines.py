"""Pipelines: registration, runs and step states, the step cache, step output and log blobs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import ConfigDict, Field, field_validator, model_validator
from starlette.responses import Response, StreamingResponse

from relayml import wire
from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.bodies import Route
from relayml.api.gate import streams_body
from relayml.api.responses import BINARY_RESPONSE, ERROR_RESPONSES, json
from relayml.api.schemas import Body
from relayml.api.streaming import BINARY_BODY, receive, send
from relayml.domain.pipelines import OUTPUT_KINDS, StepOutput, StepSpec, check_step_name
from relayml.errors import InvalidInput
from relayml.wire.common import Stored
from relayml.wire.pipelines import (
    BackfillPlanOut,
    CachedOutputOut,
    DueTriggerOut,
    PipelineOut,
    PipelineRunOut,
    StepRunOut,
)

router = APIRouter(
    prefix="/api/v1", route_class=Route, tags=["pipelines"], responses=ERROR_RESPONSES
)


class StepSpecBody(Body):
    name: str
    upstream: list[str] = Field(default_factory=list)

    def to_domain(self) -> StepSpec:
        return StepSpec(check_step_name(self.name), tuple(self.upstream))


class PipelineRegister(Body):
    module: str = Field(examples=["etl.nightly:nightly"])
    schedule: str | None = Field(None, examples=["0 3 * * *"])
    params: dict[str, Any] = Field(default_factory=dict)
    steps: list[StepSpecBody] = Field(default_factory=list)
    on_publish: list[str] = Field(default_factory=list, examples=[["loans"]])


class PipelinePause(Body):
    reason: str = Field(examples=["upstream source down until Monday"])


class PipelineRunStart(Body):
    steps: list[StepSpecBody] = Field(min_length=1)
    trigger: str = "manual"
    executor: str = "local"
    params: dict[str, Any] = Field(default_factory=dict)
    scheduled_for: datetime | None = None
    dataset: str | None = Field(None, examples=["loans@7"])
    loop_run: str | None = Field(None, description="with trigger 'loop': the loop run it claims")


class StepOutputBody(Body):
    """A step's output as the runner reports it (`StepOutputOut` is what the API writes)."""

    # Keys it does not know are ignored, as they always were for a step output.
    model_config = ConfigDict(extra="ignore")

    kind: str = Field(examples=["table"], description=f"one of {', '.join(OUTPUT_KINDS)}")
    digest: str
    value: Any = None
    ref: str | None = None
    format: str | None = None
    name: str | None = None
    size: int = Field(0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        """A bad output is a 400 (`InvalidInput`, which pydantic lets through) naming the field
        and its value, not a schema 422."""
        if not isinstance(data, dict):
            return data
        if data.get("kind") not in OUTPUT_KINDS or not isinstance(data.get("digest"), str):
            raise InvalidInput(
                f"invalid step output {data!r}: needs a kind ({', '.join(OUTPUT_KINDS)}) "
                "and a digest"
            )
        size = data.get("size") or 0
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size < 2**63:
            raise InvalidInput(f"invalid step output size {size!r:.40}: a byte count ≥ 0")
        for key in ("ref", "format", "name"):
            text = data.get(key)
            if text is not None and not isinstance(text, str):
                raise InvalidInput(f"invalid step output {key} {text!r:.40}: text or null")
        return {**data, "size": size}

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


class StepRecord(Body):
    status: str = Field(examples=["finished"])
    attempts: int = 0
    cache_key: str | None = None
    cached: bool = False
    output: StepOutputBody | None = None
    logs_digest: str | None = None
    error: str | None = None
    user_traceback: str | None = None

    @field_validator("output", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == {} else value  # an empty output was always read as none


class PipelineRunFinish(Body):
    status: str = Field(examples=["finished"])
    error: str | None = None


def _specs(steps: list[StepSpecBody]) -> list[StepSpec]:
    return [s.to_domain() for s in steps]


@router.put(
    "/projects/{project}/pipelines/{name}",
    response_model=PipelineOut,
    summary="Register or update a pipeline",
)
def register_pipeline(
    project: str, name: str, body: PipelineRegister, services: ServicesDep, who: PrincipalDep
) -> Response:
    info = services.pipelines.register(
        who,
        project,
        name,
        module=body.module,
        schedule=body.schedule,
        params=body.params,
        steps=_specs(body.steps),
        on_publish=body.on_publish,
    )
    return json(PipelineOut.from_domain(info))


@router.get(
    "/pipelines",
    response_model=list[PipelineOut],
    summary="Pipelines of a project, or of every readable project",
)
def list_pipelines(
    services: ServicesDep,
    who: PrincipalDep,
    project: Annotated[str | None, Query()] = None,
    scheduled: Annotated[bool, Query(description="Only pipelines with a schedule")] = False,
) -> Response:
    found = services.pipelines.list_pipelines(who, project, scheduled=scheduled)
    return json([PipelineOut.from_domain(p) for p in found])


@router.get(
    "/projects/{project}/pipelines/{name}",
    response_model=PipelineOut,
    summary="A pipeline: code reference, graph, schedule with its next run, pause",
)
def get_pipeline(project: str, name: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(PipelineOut.from_domain(services.pipelines.get_pipeline(who, project, name)))


@router.post(
    "/projects/{project}/pipelines/{name}/pause",
    response_model=PipelineOut,
    summary="Pause a pipeline's schedule, with the reason (audited)",
)
def pause(
    project: str, name: str, body: PipelinePause, services: ServicesDep, who: PrincipalDep
) -> Response:
    info = services.pipelines.pause(who, project, name, body.reason)
    return json(PipelineOut.from_domain(info))


@router.post(
    "/projects/{project}/pipelines/{name}/resume",
    response_model=PipelineOut,
    summary="Resume a paused schedule from now; slots missed while paused are not run (audited)",
)
def resume(project: str, name: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(PipelineOut.from_domain(services.pipelines.resume(who, project, name)))


@router.get(
    "/projects/{project}/pipelines/{name}/backfill-plan",
    response_model=BackfillPlanOut,
    summary="The slots a backfill of [start, end] runs, and those a finished run already did",
)
def backfill_plan(
    project: str,
    name: str,
    services: ServicesDep,
    who: PrincipalDep,
    start: Annotated[str, Query(description="ISO 8601 date or time (UTC if no offset)")],
    end: Annotated[str, Query(description="ISO 8601 date or time; a date includes its day")],
    every: Annotated[str | None, Query(description="A cron to use instead of the schedule")] = None,
    rerun: Annotated[bool, Query(description="Plan slots a finished run did too")] = False,
) -> Response:
    plan = services.pipelines.backfill_plan(
        who, project, name, start, end, every=every, rerun=rerun
    )
    return json(BackfillPlanOut.from_domain(plan))


@router.post(
    "/projects/{project}/pipelines/{name}/runs",
    status_code=201,
    response_model=PipelineRunOut,
    summary="Start a pipeline run",
)
def start_run(
    project: str, name: str, body: PipelineRunStart, services: ServicesDep, who: PrincipalDep
) -> Response:
    run = services.pipelines.start_run(
        who,
        project,
        name,
        trigger=body.trigger,
        executor=body.executor,
        params=body.params,
        steps=_specs(body.steps),
        scheduled_for=body.scheduled_for,
        dataset=body.dataset,
        loop_run=body.loop_run,
    )
    return json(PipelineRunOut.from_domain(run), status_code=201)


@router.get(
    "/pipeline-triggers/due",
    response_model=list[DueTriggerOut],
    summary="Published versions that should start a pipeline and have not yet (for schedulers)",
)
def due_triggers(
    services: ServicesDep,
    who: PrincipalDep,
    project: Annotated[str | None, Query()] = None,
) -> Response:
    found = services.pipelines.due_triggers(who, project)
    return json([DueTriggerOut.from_domain(t) for t in found])


@router.get(
    "/projects/{project}/pipeline-runs",
    response_model=list[PipelineRunOut],
    summary="Pipeline runs, newest first",
)
def list_runs(
    project: str,
    services: ServicesDep,
    who: PrincipalDep,
    pipeline: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query()] = 50,
) -> Response:
    runs = services.pipelines.list_runs(who, project, pipeline, limit)
    return json([PipelineRunOut.from_domain(r) for r in runs])


@router.get(
    "/pipeline-runs/{run_id}",
    response_model=PipelineRunOut,
    summary="A pipeline run with its steps",
)
def get_run(run_id: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(PipelineRunOut.from_domain(services.pipelines.get_run(who, run_id)))


@router.put(
    "/pipeline-runs/{run_id}/steps/{step}",
    response_model=StepRunOut,
    summary="Record a step's new state",
)
def record_step(
    run_id: str, step: str, body: StepRecord, services: ServicesDep, who: PrincipalDep
) -> Response:
    result = services.pipelines.record_step(
        who,
        run_id,
        step,
        status=body.status,
        attempts=body.attempts,
        cache_key=body.cache_key,
        cached=body.cached,
        output=body.output.to_domain() if body.output else None,
        logs_digest=body.logs_digest,
        error=body.error,
        user_traceback=body.user_traceback,
    )
    return json(StepRunOut.from_domain(result))


@router.post(
    "/pipeline-runs/{run_id}/finish", response_model=PipelineRunOut, summary="End a pipeline run"
)
def finish_run(
    run_id: str, body: PipelineRunFinish, services: ServicesDep, who: PrincipalDep
) -> Response:
    run = services.pipelines.finish_run(who, run_id, body.status, body.error)
    return json(PipelineRunOut.from_domain(run))


@router.get(
    "/projects/{project}/pipeline-cache/{cache_key}",
    response_model=CachedOutputOut,
    summary="The cached output for a step cache key ({'output': null} when there is none)",
)
def find_cached(project: str, cache_key: str, services: ServicesDep, who: PrincipalDep) -> Response:
    found = services.pipelines.find_cached(who, project, cache_key)
    return json(CachedOutputOut.from_domain(found))


@router.put(
    "/pipeline-runs/{run_id}/blobs",
    status_code=201,
    response_model=Stored,
    summary="Upload a step's output or log bytes (the raw bytes as the body)",
    openapi_extra=BINARY_BODY,
)
@streams_body
async def put_blob(
    run_id: str,
    request: Request,
    services: ServicesDep,
    who: PrincipalDep,
    digest: Annotated[str | None, Header(alias=wire.DIGEST_HEADER)] = None,
) -> Response:
    stored, size = await receive(
        request,
        lambda body: services.pipelines.put_blob(who, run_id, body, expected_digest=digest),
    )
    return json(Stored(digest=stored, size=size), status_code=201)


@router.get(
    "/pipeline-runs/{run_id}/blobs/{digest}",
    summary="Download a step's output or log bytes",
    response_class=StreamingResponse,
    responses=BINARY_RESPONSE,
)
def get_blob(run_id: str, digest: str, services: ServicesDep, who: PrincipalDep) -> Response:
    chunks = services.pipelines.download_blob(who, run_id, digest)
    return send(chunks, digest)
