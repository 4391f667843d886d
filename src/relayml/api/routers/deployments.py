"""Deployments: create and change them (target, traffic rules, promote the canary, roll back,
archive), their history, what they resolve to now, prediction-log segments and feedback.

A segment is registered in two requests, as a model version: `PUT .../segments/uploads`
streams the Parquet file into the artifact store (checked against its sha256), then `POST
.../segments` registers that upload under its logical uri.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt
from starlette.responses import Response, StreamingResponse

from relayml import wire
from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.bodies import Route
from relayml.api.gate import streams_body
from relayml.api.responses import BINARY_RESPONSE, ERROR_RESPONSES, json
from relayml.api.streaming import BINARY_BODY, receive, send
from relayml.domain.deployments import FeedbackItem, TrafficRules
from relayml.wire.datasets import UploadOut
from relayml.wire.deployments import (
    DeploymentChangeOut,
    DeploymentOut,
    FeedbackBatchOut,
    FeedbackOut,
    LogSegmentOut,
    ResolutionOut,
    TrafficOut,
)

router = APIRouter(
    prefix="/api/v1", route_class=Route, tags=["deployments"], responses=ERROR_RESPONSES
)

_BASE = "/projects/{project}/deployments"
_ONE = _BASE + "/{name}"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


Percent = StrictFloat | StrictInt


class TrafficBody(Body):
    canary: str | None = Field(default=None, examples=["churn@4"])
    canary_percent: Percent = Field(default=0.0, examples=[10])
    shadow: str | None = Field(default=None, examples=["churn@5"])
    sticky_key: str | None = Field(default=None, examples=["customer_id"])

    def rules(self) -> TrafficRules:
        return TrafficRules(
            canary=self.canary,
            canary_percent=self.canary_percent,
            sticky_key=self.sticky_key,
            shadow=self.shadow,
        )


class DeploymentCreate(Body):
    name: str = Field(examples=["churn-api"])
    target: str = Field(
        description="model@alias to follow the alias, model@version to pin",
        examples=["churn@production"],
    )
    traffic: TrafficBody | None = None
    unsafe_pickle: StrictBool = Field(
        default=False, description="Allow serving versions saved as pickle (they run code)"
    )
    reason: str = ""


class TargetSet(Body):
    target: str = Field(examples=["churn@production"])
    reason: str = ""


class TrafficSet(TrafficBody):
    reason: str = ""


class ReasonBody(Body):
    reason: str = ""


class SegmentRecord(Body):
    uri: str = Field(examples=["serving/default/churn-api/2025-01-31/srv-1-000001.parquet"])
    digest: str = Field(description="sha256 of the uploaded segment file")
    records: StrictInt = Field(examples=[5000])
    first_at: datetime
    last_at: datetime
    server_id: str = Field(examples=["srv-1"])


Label = StrictBool | StrictInt | StrictFloat | str | None


class FeedbackSubmit(Body):
    prediction_id: str = Field(examples=["0190c2d5e0f87a3b9f4e2d1c0b9a8f7e"])
    label: Label = Field(default=None, examples=["churned"])
    outcome: Percent | None = Field(default=None, examples=[129.5])
    comment: str | None = None
    replace: StrictBool = False


class FeedbackBatchItem(Body):
    prediction_id: str
    label: Label = None
    outcome: Percent | None = None
    comment: str | None = None


class FeedbackBatchSubmit(Body):
    items: list[FeedbackBatchItem]
    replace: StrictBool = False


class FeedbackSearch(Body):
    prediction_ids: list[str] | None = None
    since: datetime | None = None
    limit: StrictInt = 1000


@router.get(_BASE, response_model=list[DeploymentOut], summary="The project's deployments")
def list_deployments(
    project: str,
    services: ServicesDep,
    who: PrincipalDep,
    include_archived: Annotated[bool, Query()] = False,
) -> Response:
    found = services.deployments.list_deployments(who, project, include_archived)
    return json([DeploymentOut.from_domain(d) for d in found])


@router.post(_BASE, status_code=201, response_model=DeploymentOut, summary="Create a deployment")
def create(
    project: str, body: DeploymentCreate, services: ServicesDep, who: PrincipalDep
) -> Response:
    dep = services.deployments.create(
        who,
        project,
        body.name,
        body.target,
        traffic=body.traffic.rules() if body.traffic is not None else None,
        unsafe_pickle=body.unsafe_pickle,
        reason=body.reason,
    )
    return json(DeploymentOut.from_domain(dep), status_code=201)


@router.get(_ONE, response_model=DeploymentOut, summary="A deployment")
def get(project: str, name: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(DeploymentOut.from_domain(services.deployments.get(who, project, name)))


@router.get(
    _ONE + "/history",
    response_model=list[DeploymentChangeOut],
    summary="Every change, newest first, with the primary version served before and after",
)
def history(project: str, name: str, services: ServicesDep, who: PrincipalDep) -> Response:
    found = services.deployments.history(who, project, name)
    return json([DeploymentChangeOut.from_domain(c) for c in found])


@router.get(
    _ONE + "/resolution",
    response_model=ResolutionOut,
    summary="The exact versions and digests each arm serves now (what model servers poll)",
)
def resolve(project: str, name: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(ResolutionOut.from_domain(services.deployments.resolve(who, project, name)))


@router.put(
    _ONE + "/target",
    response_model=DeploymentOut,
    summary="Follow another alias or pin another version",
)
def set_target(
    project: str, name: str, body: TargetSet, services: ServicesDep, who: PrincipalDep
) -> Response:
    dep = services.deployments.set_target(who, project, name, body.target, reason=body.reason)
    return json(DeploymentOut.from_domain(dep))


@router.put(
    _ONE + "/traffic",
    response_model=DeploymentOut,
    summary="Replace the traffic rules (canary with its percent and sticky key, shadow)",
)
def set_traffic(
    project: str, name: str, body: TrafficSet, services: ServicesDep, who: PrincipalDep
) -> Response:
    dep = services.deployments.set_traffic(
        who,
        project,
        name,
        canary=body.canary,
        canary_percent=body.canary_percent,
        shadow=body.shadow,
        sticky_key=body.sticky_key,
        reason=body.reason,
    )
    return json(DeploymentOut.from_domain(dep))


@router.post(
    _ONE + "/promote-canary",
    response_model=DeploymentOut,
    summary="All traffic to the canary's version (an alias must already hold it)",
)
def promote_canary(
    project: str, name: str, body: ReasonBody, services: ServicesDep, who: PrincipalDep
) -> Response:
    dep = services.deployments.promote_canary(who, project, name, reason=body.reason)
    return json(DeploymentOut.from_domain(dep))


@router.post(
    _ONE + "/rollback",
    response_model=DeploymentOut,
    summary="Back at once to the version served before, pinned (DevOps may)",
)
def rollback(
    project: str, name: str, body: ReasonBody, services: ServicesDep, who: PrincipalDep
) -> Response:
    dep = services.deployments.rollback(who, project, name, reason=body.reason)
    return json(DeploymentOut.from_domain(dep))


@router.post(_ONE + "/archive", response_model=DeploymentOut, summary="Stop serving; keep history")
def archive(
    project: str, name: str, body: ReasonBody, services: ServicesDep, who: PrincipalDep
) -> Response:
    dep = services.deployments.archive(who, project, name, reason=body.reason)
    return json(DeploymentOut.from_domain(dep))


# prediction-log segments ------------------------------------------------------------------------
@router.put(
    _ONE + "/segments/uploads",
    status_code=201,
    response_model=UploadOut,
    summary="Upload a prediction-log segment file to register (the raw bytes as the body)",
    openapi_extra=BINARY_BODY,
)
@streams_body
async def upload_segment(
    project: str,
    name: str,
    request: Request,
    services: ServicesDep,
    who: PrincipalDep,
    digest: Annotated[str | None, Header(alias=wire.DIGEST_HEADER)] = None,
) -> Response:
    blob, size = await receive(
        request,
        lambda body: services.deployments.upload(who, project, name, body, expected_digest=digest),
    )
    return json(UploadOut(blob=blob, size=size), status_code=201)


@router.post(
    _ONE + "/segments",
    status_code=201,
    response_model=LogSegmentOut,
    summary="Register an uploaded prediction-log segment",
)
def record_segment(
    project: str, name: str, body: SegmentRecord, services: ServicesDep, who: PrincipalDep
) -> Response:
    seg = services.deployments.record_segment(
        who,
        project,
        name,
        uri=body.uri,
        digest=body.digest,
        records=body.records,
        first_at=body.first_at,
        last_at=body.last_at,
        server_id=body.server_id,
    )
    return json(LogSegmentOut.from_domain(seg), status_code=201)


@router.get(
    _ONE + "/segments",
    response_model=list[LogSegmentOut],
    summary="The prediction-log segments holding records in a time window, oldest first",
)
def list_segments(
    project: str,
    name: str,
    services: ServicesDep,
    who: PrincipalDep,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
) -> Response:
    found = services.deployments.list_segments(who, project, name, since=since, until=until)
    return json([LogSegmentOut.from_domain(s) for s in found])


@router.get(
    _ONE + "/traffic",
    response_model=TrafficOut,
    summary="Requests per minute per arm and each arm's latency over the last minutes, from the "
    "newest prediction-log segments",
)
def traffic(
    project: str,
    name: str,
    services: ServicesDep,
    who: PrincipalDep,
    minutes: Annotated[int, Query()] = 60,
    as_of: Annotated[datetime | None, Query()] = None,
) -> Response:
    found = services.deployments.traffic(who, project, name, minutes=minutes, as_of=as_of)
    return json(TrafficOut.from_domain(found))


@router.get(
    _ONE + "/segments/{segment_id}/file",
    response_class=StreamingResponse,
    responses=BINARY_RESPONSE,
    summary="A segment's Parquet bytes (verified against their sha256 as they stream)",
)
def download_segment(
    project: str, name: str, segment_id: str, services: ServicesDep, who: PrincipalDep
) -> Response:
    seg, chunks = services.deployments.download_segment(who, project, name, segment_id)
    return send(chunks, seg.digest)


# feedback ---------------------------------------------------------------------------------------
@router.post(
    _ONE + "/feedback",
    status_code=201,
    response_model=FeedbackOut,
    summary="Feedback on one prediction: a label or an outcome, and a comment",
)
def submit_feedback(
    project: str, name: str, body: FeedbackSubmit, services: ServicesDep, who: PrincipalDep
) -> Response:
    fb = services.deployments.submit_feedback(
        who,
        project,
        name,
        body.prediction_id,
        label=body.label,
        outcome=body.outcome,
        comment=body.comment,
        replace=body.replace,
    )
    return json(FeedbackOut.from_domain(fb), status_code=201)


@router.post(
    _ONE + "/feedback/batch",
    status_code=201,
    response_model=FeedbackBatchOut,
    summary="Feedback on up to 10,000 predictions at once, all or nothing",
)
def submit_feedback_batch(
    project: str, name: str, body: FeedbackBatchSubmit, services: ServicesDep, who: PrincipalDep
) -> Response:
    items = [FeedbackItem(i.prediction_id, i.label, i.outcome, i.comment) for i in body.items]
    batch = services.deployments.submit_feedback_batch(
        who, project, name, items, replace=body.replace
    )
    return json(FeedbackBatchOut.from_domain(batch), status_code=201)


@router.get(
    _ONE + "/feedback",
    response_model=list[FeedbackOut],
    summary="Feedback oldest first: from `since` on, or the newest `limit`",
)
def list_feedback(
    project: str,
    name: str,
    services: ServicesDep,
    who: PrincipalDep,
    since: Annotated[datetime | None, Query()] = None,
    limit: Annotated[int, Query()] = 1000,
) -> Response:
    found = services.deployments.list_feedback(who, project, name, since=since, limit=limit)
    return json([FeedbackOut.from_domain(f) for f in found])


@router.post(
    _ONE + "/feedback/search",
    response_model=list[FeedbackOut],
    summary="Feedback on exactly these prediction ids (for a join), oldest first",
)
def search_feedback(
    project: str, name: str, body: FeedbackSearch, services: ServicesDep, who: PrincipalDep
) -> Response:
    found = services.deployments.list_feedback(
        who,
        project,
        name,
        prediction_ids=body.prediction_ids,
        since=body.since,
        limit=body.limit,
    )
    return json([FeedbackOut.from_domain(f) for f in found])
