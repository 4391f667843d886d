"""Loops: attach one to a project, start and stop its runs, read every step, and the two calls
a runner makes each tick (`advance`, `decide`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.bodies import Route
from relayml.api.responses import ERROR_RESPONSES, json
from relayml.api.schemas import LoopAlert, LoopAttach, LoopDecide, LoopReason
from relayml.domain.loops import CanaryEvidence, LoopSpec
from relayml.domain.monitors import alert_families
from relayml.wire.loops import LoopOut, LoopRunOut

router = APIRouter(prefix="/api/v1", route_class=Route, tags=["loops"], responses=ERROR_RESPONSES)


@router.get("/projects/{project}/loops", response_model=list[LoopOut], summary="The loops")
def list_loops(project: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json([LoopOut.from_domain(x) for x in services.loops.list_loops(who, project)])


@router.post(
    "/projects/{project}/loops",
    status_code=201,
    response_model=LoopOut,
    summary="Attach a loop: an alert's retraining, evaluation, approval and canary",
)
def attach(project: str, body: LoopAttach, services: ServicesDep, who: PrincipalDep) -> Response:
    spec = LoopSpec(
        pipeline=body.pipeline,
        deployment=body.deployment,
        on=alert_families(body.on),
        candidate_step=body.candidate_step,
        params=body.params,
        evaluate_on=body.evaluate_on,
        target=body.target,
        canary_percent=body.canary_percent,
        min_feedback=body.min_feedback,
        canary_timeout=body.canary_timeout,
        pipeline_timeout=body.pipeline_timeout,
        alpha=body.alpha,
    )
    loop = services.loops.attach(who, project, body.name, spec)
    return json(LoopOut.from_domain(loop), status_code=201)


@router.get("/projects/{project}/loops/{name}", response_model=LoopOut, summary="One loop")
def get_loop(project: str, name: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(LoopOut.from_domain(services.loops.get(who, project, name)))


@router.post(
    "/projects/{project}/loops/{name}/detach",
    response_model=LoopOut,
    summary="Detach a loop: no new runs (the runs under way go on)",
)
def detach(
    project: str, name: str, body: LoopReason, services: ServicesDep, who: PrincipalDep
) -> Response:
    return json(LoopOut.from_domain(services.loops.detach(who, project, name, body.reason)))


@router.post(
    "/projects/{project}/loops/{name}/runs",
    status_code=201,
    response_model=LoopRunOut,
    summary="Start a run of the loop by hand, with a reason",
)
def start(
    project: str, name: str, body: LoopReason, services: ServicesDep, who: PrincipalDep
) -> Response:
    run = services.loops.start(who, project, name, body.reason)
    return json(LoopRunOut.from_domain(run), status_code=201)


@router.post(
    "/projects/{project}/loop-alerts",
    response_model=list[LoopRunOut],
    summary="An alert: start one run of each loop that reacts to it (once per alert)",
)
def on_alert(project: str, body: LoopAlert, services: ServicesDep, who: PrincipalDep) -> Response:
    runs = services.loops.on_alert(
        who, project, body.deployment, body.kind, body.alert, body.summary
    )
    return json([LoopRunOut.from_domain(r) for r in runs])


@router.get(
    "/projects/{project}/loop-runs",
    response_model=list[LoopRunOut],
    summary="Loop runs, newest first",
)
def list_runs(
    project: str,
    services: ServicesDep,
    who: PrincipalDep,
    loop: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query()] = 100,
) -> Response:
    runs = services.loops.list_runs(who, project, loop, limit)
    return json([LoopRunOut.from_domain(r) for r in runs])


@router.post(
    "/projects/{project}/loop-runs/advance",
    response_model=list[LoopRunOut],
    summary="Move every run under way as far as Relay can (a runner's tick)",
)
def advance(project: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json([LoopRunOut.from_domain(r) for r in services.loops.advance(who, project)])


@router.get("/loop-runs/{run_id}", response_model=LoopRunOut, summary="One loop run, every step")
def get_run(run_id: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(LoopRunOut.from_domain(services.loops.get_run(who, run_id)))


@router.post(
    "/loop-runs/{run_id}/stop",
    response_model=LoopRunOut,
    summary="Stop a loop run: its canary is removed and its request withdrawn",
)
def stop(run_id: str, body: LoopReason, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(LoopRunOut.from_domain(services.loops.stop(who, run_id, body.reason)))


@router.post(
    "/loop-runs/{run_id}/decide",
    response_model=LoopRunOut,
    summary="Hand the canary's comparison: promoted or rolled back if it decides",
)
def decide(run_id: str, body: LoopDecide, services: ServicesDep, who: PrincipalDep) -> Response:
    e = body.evidence
    evidence = (
        CanaryEvidence(
            e.metric, e.canary_n, e.canary_value, e.primary_n, e.primary_value, e.test, e.pvalue
        )
        if e is not None
        else None
    )
    return json(LoopRunOut.from_domain(services.loops.decide(who, run_id, evidence)))
