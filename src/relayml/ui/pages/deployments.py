"""Deployments: the project's deployments, and a deployment's page (target, traffic split with
the versions each arm resolves to now, live traffic from the prediction log — requests per
minute per arm and each arm's latency — its history of changes, recent prediction-log segments
and feedback counts) with set-traffic, promote-canary and rollback for the roles that may. The
live-traffic panel is also served alone (`.../live`), which the page's script fetches again
every 30 seconds while the page is visible."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from relayml.domain.deployments import Feedback
from relayml.domain.roles import Action
from relayml.errors import InvalidInput, PermissionDenied
from relayml.services.base import utcnow
from relayml.ui.pages.monitors import watching
from relayml.ui.web import Area, Context, NavItem

area = Area(NavItem("Deployments", "deployments", Action.DEPLOYMENT_READ, 50))
RECENT_DAYS = 7
MAX_SEGMENTS = 20
FEEDBACK_SAMPLE = 10_000
LIVE_MINUTES = (15, 60, 180)  # the windows the live-traffic panel offers
CHART_WIDTH, CHART_HEIGHT = 1000, 160


@area.get("/p/{project}/deployments")
def deployments(ctx: Context) -> Response:
    archived = ctx.arg("archived") == "1"
    found = ctx.services.deployments.list_deployments(ctx.who, ctx.project, archived)
    return ctx.render("deployments/deployments.html", deployments=found, archived=archived)


@area.get("/p/{project}/deployments/{name}")
def deployment(ctx: Context) -> Response:
    s, who, p = ctx.services, ctx.who, ctx.project
    name = ctx.request.path_params["name"]
    dep = s.deployments.get(who, p, name)
    minutes = _minutes(ctx)
    since = utcnow() - timedelta(days=RECENT_DAYS)
    segments = s.deployments.list_segments(who, p, name, since=since)
    feedback: list[Feedback] | None = None
    if ctx.may(Action.FEEDBACK_READ):
        try:
            feedback = s.deployments.list_feedback(who, p, name, limit=FEEDBACK_SAMPLE)
        except PermissionDenied:
            feedback = None
    return ctx.render(
        "deployments/deployment.html",
        dep=dep,
        resolution=s.deployments.resolve(who, p, name),
        live=_live(ctx, name, minutes),
        history=s.deployments.history(who, p, name),
        segments=segments[-MAX_SEGMENTS:][::-1],
        segment_count=len(segments),
        records=sum(x.records for x in segments),
        recent_days=RECENT_DAYS,
        feedback=_feedback_counts(feedback),
        may_change=dep.active and ctx.may(Action.DEPLOYMENT_CREATE),
        may_rollback=dep.active and ctx.may(Action.DEPLOYMENT_ROLLBACK),
        monitors=watching(ctx, name),
    )


@area.get("/p/{project}/deployments/{name}/live")
def live(ctx: Context) -> Response:
    """The live-traffic panel alone, for the page's refresh."""
    name = ctx.request.path_params["name"]
    return ctx.render("deployments/_live.html", live=_live(ctx, name, _minutes(ctx)))


def _minutes(ctx: Context) -> int:
    text = ctx.arg("minutes", "60")
    if text not in {str(m) for m in LIVE_MINUTES}:
        choices = ", ".join(str(m) for m in LIVE_MINUTES)
        raise InvalidInput(f"minutes={text!r:.20}: the live traffic covers {choices} minutes")
    return int(text)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    arm: str
    count: int


def _live(ctx: Context, name: str, minutes: int) -> dict[str, Any]:
    """The panel's values: the service's traffic, its chart laid out as stacked bars (one per
    minute and arm), the choices of window and the panel's own address."""
    t = ctx.services.deployments.traffic(ctx.who, ctx.project, name, minutes=minutes)
    step = CHART_WIDTH / t.minutes
    scale = (CHART_HEIGHT - 4) / t.peak if t.peak else 0.0
    bars = []
    for i in range(t.minutes):
        top = float(CHART_HEIGHT)
        for arm, counts in t.per_minute.items():
            if counts[i]:
                height = counts[i] * scale
                top -= height
                bars.append(Bar(i * step, top, max(step - 1, 0.5), height, arm, counts[i]))
    totals = t.totals
    minutes_rows = [
        (start, [t.per_minute[a][i] for a in t.per_minute], totals[i])
        for i, start in enumerate(t.starts)
        if totals[i]
    ]
    path = f"deployments/{quote(name, safe='')}"
    return {
        "t": t,
        "bars": bars,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "rows": minutes_rows[::-1],
        "mean": sum(totals) / t.minutes,
        "choices": [(m, ctx.url(path, minutes=m)) for m in LIVE_MINUTES],
        "src": ctx.url(f"{path}/live", minutes=minutes),
        "name": name,
    }


def _feedback_counts(feedback: list[Feedback] | None) -> dict[str, object] | None:
    if feedback is None:
        return None
    labels = Counter(str(f.label) for f in feedback if f.label is not None)
    return {
        "total": len(feedback),
        "sampled": len(feedback) >= FEEDBACK_SAMPLE,
        "labelled": sum(labels.values()),
        "outcomes": sum(1 for f in feedback if f.outcome is not None),
        "comments": sum(1 for f in feedback if f.comment),
        "labels": labels.most_common(10),
        "by": Counter(f.who for f in feedback).most_common(10),
        "last": feedback[-1].at if feedback else None,
    }


def _url(ctx: Context) -> str:
    return ctx.url(f"deployments/{quote(ctx.request.path_params['name'], safe='')}")


@area.post("/p/{project}/deployments/{name}/traffic")
def set_traffic(ctx: Context) -> Response:
    f = ctx.form
    percent_text = f.get("canary_percent", "").strip() or "0"
    try:
        percent = float(percent_text)
    except ValueError:
        raise InvalidInput(
            f"the canary share {percent_text!r} is not a number; write e.g. 10"
        ) from None
    ctx.services.deployments.set_traffic(
        ctx.who,
        ctx.project,
        ctx.request.path_params["name"],
        canary=f.get("canary", "").strip() or None,
        canary_percent=percent,
        shadow=f.get("shadow", "").strip() or None,
        sticky_key=f.get("sticky_key", "").strip() or None,
        reason=f.get("reason", ""),
    )
    return ctx.redirect(_url(ctx) + "#traffic")


@area.post("/p/{project}/deployments/{name}/promote-canary")
def promote_canary(ctx: Context) -> Response:
    ctx.services.deployments.promote_canary(
        ctx.who, ctx.project, ctx.request.path_params["name"], reason=ctx.form.get("reason", "")
    )
    return ctx.redirect(_url(ctx) + "#traffic")


@area.post("/p/{project}/deployments/{name}/rollback")
def rollback(ctx: Context) -> Response:
    ctx.services.deployments.rollback(
        ctx.who, ctx.project, ctx.request.path_params["name"], reason=ctx.form.get("reason", "")
    )
    return ctx.redirect(_url(ctx) + "#traffic")
