"""Experiments: the runs table (filter grammar, sort by any column, column chooser, keyset
paging) and a run's page (params, metric charts with their numbers, artifacts, lineage)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import Response, StreamingResponse

from relayml.domain.roles import Action
from relayml.domain.tracking import RunPage, RunRecord
from relayml.errors import InvalidInput, NotFound
from relayml.ui.table import PAGE_SIZES, Column, Sort, finite, page_size, thin
from relayml.ui.web import SECURITY_HEADERS, Area, Context, NavItem

area = Area(NavItem("Experiments", "runs", Action.RUN_READ, 20))
DEFAULT_SORT = "attribute:start_time desc"
BASE_COLUMNS = [Column("attribute", k) for k in ("status", "experiment", "user", "start_time")]
MAX_CHART_POINTS = 2000
MAX_TABLE_POINTS = 500
MAX_METRICS = 30


@area.get("/p/{project}/runs")
def runs(ctx: Context) -> Response:
    s, who = ctx.services, ctx.who
    experiments = s.tracking.list_experiments(who, ctx.project)
    experiment = ctx.arg("experiment")
    filter_text = ctx.arg("filter").strip()
    sort = Sort.parse(ctx.arg("sort") or DEFAULT_SORT)
    limit = page_size(ctx.arg("limit"))
    token = ctx.arg("page")
    chosen = [Column.parse(c) for c in ctx.args("col")]
    error = ""
    try:
        page = s.tracking.search_runs(
            who,
            project=ctx.project,
            experiments=[experiment] if experiment else None,
            filter=filter_text or None,
            order_by=[sort.order_by],
            limit=limit,
            page_token=token or None,
        )
    except InvalidInput as exc:  # a filter that does not parse: say where, keep the form
        error = exc.message
        page = RunPage([], None)
    keys = _keys(page.runs)
    if not chosen and not ctx.arg("cols"):  # nothing chosen yet: the page's first keys
        chosen = [Column("metric", k) for k in keys["metric"][:6]]
        chosen += [Column("param", k) for k in keys["param"][:4]]
    for c in chosen:
        if c.kind != "attribute" and c.key not in keys[c.kind]:
            keys[c.kind].append(c.key)
    state = {
        "filter": filter_text,
        "experiment": experiment,
        "sort": sort.param,
        "limit": limit if limit != 50 else "",
        "col": [c.id for c in chosen],
        "cols": "1",
    }
    return ctx.render(
        "experiments/runs.html",
        runs=page.runs,
        experiments=experiments,
        experiment=experiment,
        filter=filter_text,
        error=error,
        sort=sort,
        limit=limit,
        page_sizes=PAGE_SIZES,
        name_column=Column("attribute", "name"),
        columns=BASE_COLUMNS + chosen,
        chosen={c.id for c in chosen},
        available=keys,
        state=state,
        next_url=ctx.url("runs", **state, page=page.next_page_token)
        if page.next_page_token
        else "",
        first_url=ctx.url("runs", **state) if token else "",
        sort_url=lambda c: ctx.url("runs", **{**state, "sort": sort.toggled(c).param}),
    )


def _keys(runs: list[RunRecord]) -> dict[str, list[str]]:
    return {
        "metric": sorted({k for r in runs for k in r.metrics}),
        "param": sorted({k for r in runs for k in r.params}),
        "tag": sorted({k for r in runs for k in r.tags}),
    }


def run_in_project(ctx: Context, run_id: str) -> RunRecord:
    """The run, if it belongs to this page's project (another project's run is not found
    here, whatever the caller may read there)."""
    run = ctx.services.tracking.get_run(ctx.who, run_id)
    if run.project != ctx.project:
        raise NotFound(f"no run {run_id!r} in project {ctx.project!r}")
    return run


def histories(ctx: Context, run: RunRecord, keys: list[str]) -> dict[str, list[list[Any]]]:
    """Each metric's points as [step, time (ms), value], NaN and infinities as null."""
    out = {}
    for key in keys:
        points = ctx.services.tracking.metric_history(ctx.who, run.id, key)
        out[key] = [[p.step, p.timestamp, finite(p.value)] for p in points]
    return out


@area.get("/p/{project}/runs/{run_id}")
def run_page(ctx: Context) -> Response:
    s, who = ctx.services, ctx.who
    run = run_in_project(ctx, ctx.request.path_params["run_id"])
    keys = sorted(run.metrics)[:MAX_METRICS]
    points = histories(ctx, run, keys)
    chart = {
        "series": [
            {"name": k, "points": thin(v, MAX_CHART_POINTS)} for k, v in points.items() if v
        ],
        "selected": keys[:3],
    }
    children = s.tracking.search_runs(
        who, project=ctx.project, filter=f"parent_id = '{run.id}'", limit=100
    ).runs
    parent = s.tracking.get_run(who, run.parent_id) if run.parent_id else None
    return ctx.render(
        "experiments/run.html",
        run=run,
        points=points,
        chart=chart,
        max_table_points=MAX_TABLE_POINTS,
        more_metrics=len(run.metrics) - len(keys),
        artifacts=s.artifacts.list_artifacts(who, run.id),
        lineage=s.tracking.lineage(who, run.id),
        parent=parent,
        children=children,
        charts=bool(chart["series"]),
    )


@area.get("/p/{project}/runs/{run_id}/artifacts/{path:path}")
def artifact(ctx: Context) -> Response:
    """An artifact's bytes as a download (never rendered in the page's origin: a sandboxed
    attachment, so an HTML artifact cannot run script as the signed-in user)."""
    run = run_in_project(ctx, ctx.request.path_params["run_id"])
    info, chunks = ctx.services.artifacts.download_artifact(
        ctx.who, run.id, ctx.request.path_params["path"]
    )
    name = info.path.rsplit("/", 1)[-1]
    headers = {
        **SECURITY_HEADERS,
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        "Content-Length": str(info.size),
    }
    return StreamingResponse(chunks, media_type="application/octet-stream", headers=headers)
