"""Experiments and runs: create, log batches, end, read, search, metric histories."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.bodies import Route
from relayml.api.responses import ERROR_RESPONSES, json
from relayml.api.schemas import LogBatch, RunCreate, RunEnd
from relayml.domain.numbers import decode_float
from relayml.domain.tracking import MetricPoint
from relayml.wire.tracking import (
    ExperimentOut,
    MetricHistoryOut,
    RunOut,
    RunPageOut,
    WrittenOut,
)

router = APIRouter(
    prefix="/api/v1", route_class=Route, tags=["tracking"], responses=ERROR_RESPONSES
)


@router.get(
    "/projects/{project}/experiments",
    response_model=list[ExperimentOut],
    summary="Experiments of a project",
)
def list_experiments(project: str, services: ServicesDep, who: PrincipalDep) -> Response:
    experiments = services.tracking.list_experiments(who, project)
    return json([ExperimentOut.from_domain(e) for e in experiments])


@router.post(
    "/projects/{project}/runs", status_code=201, response_model=RunOut, summary="Start a run"
)
def create_run(project: str, body: RunCreate, services: ServicesDep, who: PrincipalDep) -> Response:
    record = services.tracking.create_run(
        who,
        project=project,
        experiment=body.experiment,
        name=body.name,
        params=body.params,
        tags=body.tags,
        parent_id=body.parent_id,
    )
    return json(RunOut.from_domain(record), status_code=201)


@router.get(
    "/projects/{project}/runs",
    response_model=RunPageOut,
    summary="Search runs with a filter, order and paging",
)
def search_runs(
    project: str,
    services: ServicesDep,
    who: PrincipalDep,
    experiment: Annotated[list[str] | None, Query(description="Repeat for several")] = None,
    filter: Annotated[str | None, Query(examples=["metrics.acc > 0.9"])] = None,
    order_by: Annotated[list[str] | None, Query(examples=["metrics.acc DESC"])] = None,
    limit: Annotated[int, Query()] = 1000,
    page_token: Annotated[str | None, Query()] = None,
) -> Response:
    page = services.tracking.search_runs(
        who,
        project=project,
        experiments=experiment,
        filter=filter,
        order_by=order_by,
        limit=limit,
        page_token=page_token,
    )
    return json(RunPageOut.from_domain(page))


@router.get(
    "/runs/{run_id}", response_model=RunOut, summary="A run: params, latest metrics, tags, status"
)
def get_run(run_id: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(RunOut.from_domain(services.tracking.get_run(who, run_id)))


@router.post(
    "/runs/{run_id}/batch",
    response_model=WrittenOut,
    summary="Log params, tags and metric points at once",
    description="Every batch is also the run's heartbeat; an empty one (`{}`) is only that. A "
    "running run with no heartbeat for the server's RELAY_RUN_LOST_AFTER (default 300 s) "
    "reads as `lost`.",
)
def log_batch(run_id: str, body: LogBatch, services: ServicesDep, who: PrincipalDep) -> Response:
    points = [MetricPoint(k, decode_float(v), s, t) for k, v, s, t in body.metrics]
    written = services.tracking.log_batch(
        who, run_id, params=body.params, metrics=points, tags=body.tags
    )
    return json(WrittenOut(written=written))


@router.post(
    "/runs/{run_id}/end", response_model=RunOut, summary="End a run as finished, failed or killed"
)
def end_run(run_id: str, body: RunEnd, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(RunOut.from_domain(services.tracking.end_run(who, run_id, body.status)))


@router.get(
    "/runs/{run_id}/metrics/{key:path}",
    response_model=MetricHistoryOut,
    summary="Every point of one metric",
)
def metric_history(run_id: str, key: str, services: ServicesDep, who: PrincipalDep) -> Response:
    points = services.tracking.metric_history(who, run_id, key)
    return json(MetricHistoryOut.from_domain(key, points))
