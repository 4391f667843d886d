"""Home: the inbox first, then what each of the caller's roles watches in this project.

Every list comes from the same service calls as the API, with the caller's principal; a
section whose call is refused is left out (a custom role may lack what its name suggests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

from starlette.responses import Response

from relayml.domain.identity import Role
from relayml.domain.roles import Action
from relayml.domain.tracking import RunStatus
from relayml.errors import NotFound, PermissionDenied
from relayml.ui.pages import feedback
from relayml.ui.web import Area, Context

area = Area()
WATCH_LIMIT = 10
T = TypeVar("T")


@dataclass
class Section:
    """A part of a home page: a heading, the template piece that lays it out, its data."""

    title: str
    template: str
    data: Any
    more: str = ""  # a link to the area's page


@area.get("/")
def root(ctx: Context) -> Response:
    projects = ctx.projects
    if not projects:
        return ctx.render("no_project.html")
    first = "default" if "default" in projects else projects[0]
    return ctx.redirect(f"/p/{quote(first, safe='')}/")


@area.get("/switch")
def switch(ctx: Context) -> Response:
    project = ctx.arg("project")
    if project not in ctx.projects:
        raise NotFound(f"no project {project!r} among yours ({', '.join(ctx.projects)})")
    return ctx.redirect(f"/p/{quote(project, safe='')}/")


@area.get("/p/{project}/")
def home(ctx: Context) -> Response:
    s = ctx.services
    project = s.identity.get_project(ctx.who, ctx.project)  # refuses a project not theirs
    inbox = s.models.inbox(ctx.who, ctx.project)
    roles = ctx.who.roles_in(ctx.project)
    sections: list[Section] = []
    for role, build in WATCHES:
        if role in roles or (Role.ADMIN in roles and role is not Role.STAKEHOLDER):
            for section in build(ctx):
                if section.title not in {x.title for x in sections}:
                    sections.append(section)
    return ctx.render("home.html", project_info=project, inbox=inbox, sections=sections)


def _quietly(call: Callable[[], T]) -> T | None:
    """A watched list the caller's (custom) role may not read is left out, not an error."""
    try:
        return call()
    except PermissionDenied:
        return None


def data_engineer(ctx: Context) -> list[Section]:
    s, who, p = ctx.services, ctx.who, ctx.project
    datasets = _quietly(lambda: s.datasets.list_datasets(who, p)) or []
    rows = []
    for info in datasets[:WATCH_LIMIT]:
        versions = _quietly(partial(s.datasets.versions, who, p, info.name)) or []
        rows.append((info, versions[-1] if versions else None))
    runs = _quietly(lambda: s.pipelines.list_runs(who, p, None, 200)) or []
    failing = [r for r in runs if r.status is RunStatus.FAILED][:WATCH_LIMIT]
    return [
        Section("Datasets and their contracts", "home/datasets.html", rows, ctx.url("datasets")),
        Section(
            "Failing pipeline runs",
            "home/pipeline_runs.html",
            failing,
            ctx.url("pipelines", state="failed"),
        ),
    ]


def data_scientist(ctx: Context) -> list[Section]:
    s, who, p = ctx.services, ctx.who, ctx.project
    recent = s.tracking.search_runs(
        who, project=p, order_by=["start_time DESC"], limit=WATCH_LIMIT
    ).runs
    best: list[tuple[str, bool, list[Any]]] = []
    keys = sorted({k for r in recent for k in r.metrics})[:3]
    for key in keys:
        lower = lower_is_better(key)
        order = f"metrics.`{key}` {'ASC' if lower else 'DESC'}"
        top = s.tracking.search_runs(
            who, project=p, filter=f"metrics.`{key}` > -1e308", order_by=[order], limit=5
        ).runs
        best.append((key, lower, top))
    return [
        Section("Recent runs", "home/runs.html", recent, ctx.url("runs")),
        Section("Best results", "home/best.html", best, ctx.url("runs")),
    ]


def lower_is_better(metric: str) -> bool:
    """Whether smaller is better for a metric, from its name (loss, error, rmse, ...)."""
    name = metric.lower()
    return any(w in name for w in ("loss", "error", "err", "rmse", "mae", "mse", "latency"))


def ml_engineer(ctx: Context) -> list[Section]:
    s, who, p = ctx.services, ctx.who, ctx.project
    deployments = _quietly(lambda: s.deployments.list_deployments(who, p)) or []
    monitors = _quietly(lambda: s.monitors.list_monitors(who, p)) or []
    alerts = _quietly(lambda: s.monitors.list_alerts(who, p, limit=500)) or []
    live = {m.name: [a for a in alerts if a.monitor == m.name] for m in monitors}
    return [
        Section("Deployments", "home/deployments.html", deployments, ctx.url("deployments")),
        Section("Monitors", "home/monitors.html", (monitors, live), ctx.url("monitors")),
    ]


def governance(ctx: Context) -> list[Section]:
    s, who, p = ctx.services, ctx.who, ctx.project
    pending = _quietly(lambda: s.models.list_requests(who, p, "open")) or []
    events = _quietly(lambda: s.audit.log(who, project=p, limit=WATCH_LIMIT)) or []
    verified = _quietly(lambda: s.audit.verify(who, p)) if ctx.may(Action.AUDIT_READ) else None
    return [
        Section("Pending approvals", "home/requests.html", pending, ctx.url("registry")),
        Section(
            "Audit trail",
            "home/audit.html",
            {"events": events, "verified": verified},
            ctx.url("audit"),
        ),
    ]


@dataclass
class ModelInWords:
    name: str
    does: str
    version: int | None
    alias: str | None
    metrics: dict[str, float]
    since: Any
    requirements: list[Any]


def stakeholder(ctx: Context) -> list[Section]:
    s, who, p = ctx.services, ctx.who, ctx.project
    models = []
    for info in (_quietly(lambda: s.models.list_models(who, p)) or [])[:WATCH_LIMIT]:
        card = s.models.card(who, p, info.name)
        alias = next((a for a in ("production", "champion", "staging") if a in info.aliases), None)
        version = info.aliases[alias] if alias else info.latest
        metrics: dict[str, float] = {}
        since = None
        if version is not None:
            mv = s.models.get(who, p, f"{info.name}@{version}")
            since = mv.created_at
            if mv.run_id:
                run = _quietly(partial(s.tracking.get_run, who, mv.run_id))
                metrics = run.metrics if run is not None else {}
        if alias:
            moves = s.models.history(who, p, info.name, alias)
            since = moves[0].at if moves else since
        does = card.fields.get("intended_use") or info.description
        models.append(
            ModelInWords(
                info.name,
                does,
                version,
                alias,
                metrics,
                since,
                s.models.requirements(who, p, info.name),
            )
        )
    deployments = _quietly(lambda: s.deployments.list_deployments(who, p)) or []
    given = (
        _quietly(lambda: feedback.recent_everywhere(ctx, deployments, WATCH_LIMIT))
        if ctx.may(Action.FEEDBACK_READ)
        else None
    )
    return [
        Section("Your models, in plain words", "home/models.html", models),
        Section(
            "Feedback on predictions",
            "home/feedback.html",
            {"deployments": deployments, "given": given or []},
            ctx.url("feedback"),
        ),
    ]


WATCHES: list[tuple[Role, Callable[[Context], list[Section]]]] = [
    (Role.DATA_ENGINEER, data_engineer),
    (Role.DATA_SCIENTIST, data_scientist),
    (Role.ML_ENGINEER, ml_engineer),
    (Role.MLOPS_ENGINEER, ml_engineer),
    (Role.MODEL_GOVERNANCE, governance),
    (Role.STAKEHOLDER, stakeholder),
]
"""What each role watches, in this order on the page (a user with several roles sees each)."""


@area.post("/p/{project}/requirements")
def set_requirement(ctx: Context) -> Response:
    f = ctx.form
    low = _float(f.get("min", ""), "minimum")
    high = _float(f.get("max", ""), "maximum")
    ctx.services.models.set_requirement(
        ctx.who, ctx.project, f.get("model", ""), f.get("metric", ""), low, high
    )
    return ctx.redirect(ctx.url() + "#models")


def _float(text: str, what: str) -> float | None:
    from relayml.errors import InvalidInput

    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"the {what} {text!r} is not a number; write e.g. 0.8") from None
