"""Pipelines: the project's pipelines (schedule, steps, last run) with their runs, failing
first; a pipeline's page (its steps as a graph, its runs); a run's page (each step's state,
attempts, duration, output and error, its logs, and the steps as a graph coloured by state)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

from relayml.domain.pipelines import PipelineRun, StepRun
from relayml.domain.roles import Action
from relayml.domain.tracking import RunStatus
from relayml.errors import InvalidInput, NotFound
from relayml.ui.graph import Graph, Node
from relayml.ui.web import SECURITY_HEADERS, Area, Context, NavItem

area = Area(NavItem("Pipelines", "pipelines", Action.PIPELINE_READ, 35))
RECENT_RUNS = 200
MAX_LOG_BYTES = 64 * 1024
STATES = ("failed", "running", "finished", "killed")


def failing_first(runs: list[PipelineRun]) -> list[PipelineRun]:
    """Failed runs first, then running, then the rest; newest first within each."""
    order = {RunStatus.FAILED: 0, RunStatus.RUNNING: 1}
    ranked = sorted(runs, key=lambda r: r.started_at, reverse=True)
    return sorted(ranked, key=lambda r: order.get(r.status, 2))


@area.get("/p/{project}/pipelines")
def pipelines(ctx: Context) -> Response:
    s, who, p = ctx.services, ctx.who, ctx.project
    state = ctx.arg("state")
    if state and state not in STATES:
        raise InvalidInput(f"unknown run state {state!r}; one of {', '.join(STATES)}")
    found = s.pipelines.list_pipelines(who, p)
    runs = s.pipelines.list_runs(who, p, None, RECENT_RUNS)
    last = {}
    for r in sorted(runs, key=lambda r: r.started_at):
        last[r.pipeline] = r
    shown = [r for r in runs if not state or r.status.value == state]
    return ctx.render(
        "pipelines/pipelines.html",
        pipelines=found,
        last=last,
        runs=failing_first(shown),
        state=state,
        states=STATES,
        failing=sum(1 for r in runs if r.status is RunStatus.FAILED),
    )


@area.get("/p/{project}/pipelines/{name}")
def pipeline(ctx: Context) -> Response:
    s, who, p = ctx.services, ctx.who, ctx.project
    name = ctx.request.path_params["name"]
    info = next((x for x in s.pipelines.list_pipelines(who, p) if x.name == name), None)
    if info is None:
        raise NotFound(f"no pipeline {name!r} in project {p!r}")
    runs = s.pipelines.list_runs(who, p, name, RECENT_RUNS)
    graph = Graph()
    for step in info.steps:
        node = graph.add(Node(f"s:{step.name}", "step", step.name))
        for up in step.upstream:
            graph.link(graph.nodes[f"s:{up}"], node)
    return ctx.render(
        "pipelines/pipeline.html", info=info, runs=failing_first(runs), graph=graph.layout()
    )


def _run(ctx: Context) -> PipelineRun:
    run_id = ctx.request.path_params["run_id"]
    run = ctx.services.pipelines.get_run(ctx.who, run_id)
    if run.project != ctx.project:
        raise NotFound(f"no pipeline run {run_id} in project {ctx.project!r}")
    return run


def step_graph(ctx: Context, run: PipelineRun) -> Graph:
    graph = Graph()
    for step in run.steps:
        detail = step.status.value
        if step.attempts > 1:
            detail += f", {step.attempts} attempts"
        node = graph.add(
            Node(
                f"s:{step.name}",
                "step",
                step.name,
                f"#step-{quote(step.name)}",
                detail,
                step.status.value,
            )
        )
        for up in step.upstream:
            if f"s:{up}" in graph.nodes:
                graph.link(graph.nodes[f"s:{up}"], node)
    return graph.layout()


@area.get("/p/{project}/pipeline-runs/{run_id}")
def pipeline_run(ctx: Context) -> Response:
    run = _run(ctx)
    logs = {step.name: _log(ctx, run, step) for step in run.steps if step.logs_digest}
    longest = max((st.duration or 0 for st in run.steps), default=0) or 1
    return ctx.render(
        "pipelines/run.html",
        run=run,
        logs=logs,
        longest=longest,
        graph=step_graph(ctx, run),
        max_log=MAX_LOG_BYTES,
    )


def _log(ctx: Context, run: PipelineRun, step: StepRun) -> tuple[str, bool]:
    """A step's log as text, its last MAX_LOG_BYTES when longer (and whether it was cut)."""
    assert step.logs_digest is not None
    data = b"".join(ctx.services.pipelines.download_blob(ctx.who, run.id, step.logs_digest))
    cut = len(data) > MAX_LOG_BYTES
    return data[-MAX_LOG_BYTES:].decode("utf-8", errors="replace"), cut


@area.get("/p/{project}/pipeline-runs/{run_id}/logs/{step}")
def step_log(ctx: Context) -> Response:
    run = _run(ctx)
    step = run.step(ctx.request.path_params["step"])
    if not step.logs_digest:
        raise NotFound(f"step {step.name!r} of pipeline run {run.id} kept no log")
    data = b"".join(ctx.services.pipelines.download_blob(ctx.who, run.id, step.logs_digest))
    return Response(data, media_type="text/plain; charset=utf-8", headers=SECURITY_HEADERS)
