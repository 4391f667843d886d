"""Experiments and runs: create, log batches, end, read, search, metric histories."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from relayml import wire
from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.errors import OrjsonResponse
from relayml.api.schemas import LogBatch, RunCreate, RunEnd
from relayml.domain.numbers import decode_float
from relayml.domain.tracking import MetricPoint

router = APIRouter(prefix="/api/v1", tags=["tracking"])


@router.get("/projects/{project}/experiments", summary="Experiments of a project")
def list_experiments(project: str, services: ServicesDep, who: PrincipalDep) -> Response:
    experiments = services.tracking.list_experiments(who, project)
    return OrjsonResponse([wire.experiment_out(e) for e in experiments])


@router.post("/projects/{project}/runs", status_code=201, summary="Start a run")
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
    return OrjsonResponse(record.to_dict(), status_code=201)


@router.get("/projects/{project}/runs", summary="Search runs with a filter, order and paging")
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
    return OrjsonResponse(wire.run_page_out(page))


@router.get("/runs/{run_id}", summary="A run: params, latest metrics, tags, status")
def get_run(run_id: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return OrjsonResponse(services.tracking.get_run(who, run_id).to_dict())


@router.post("/runs/{run_id}/batch", summary="Log params, tags and metric points at once")
def log_batch(run_id: str, body: LogBatch, services: ServicesDep, who: PrincipalDep) -> Response:
    points = [MetricPoint(k, decode_float(v), s, t) for k, v, s, t in body.metrics]
    written = services.tracking.log_batch(
        who, run_id, params=body.params, metrics=points, tags=body.tags
    )
    return OrjsonResponse({"written": written})


@router.post("/runs/{run_id}/end", summary="End a run as finished, failed or killed")
def end_run(run_id: str, body: RunEnd, services: ServicesDep, who: PrincipalDep) -> Response:
    return OrjsonResponse(services.tracking.end_run(who, run_id, body.status).to_dict())


@router.get("/runs/{run_id}/metrics/{key:path}", summary="Every point of one metric")
def metric_history(run_id: str, key: str, services: ServicesDep, who: PrincipalDep) -> Response:
    points = services.tracking.metric_history(who, run_id, key)
    return OrjsonResponse({"key": key, "points": wire.points_out(points)})
