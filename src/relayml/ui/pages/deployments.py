"""Deployments: the project's deployments, and a deployment's page (target, traffic split with
the versions each arm resolves to now, its history of changes, recent prediction-log segments
and feedback counts) with set-traffic, promote-canary and rollback for the roles that may."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from urllib.parse import quote

from starlette.responses import Response

from relayml.domain.deployments import Feedback
from relayml.domain.roles import Action
from relayml.errors import InvalidInput, PermissionDenied
from relayml.services.base import utcnow
from relayml.ui.web import Area, Context, NavItem

area = Area(NavItem("Deployments", "deployments", Action.DEPLOYMENT_READ, 50))
RECENT_DAYS = 7
MAX_SEGMENTS = 20
FEEDBACK_SAMPLE = 10_000


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
        history=s.deployments.history(who, p, name),
        segments=segments[-MAX_SEGMENTS:][::-1],
        segment_count=len(segments),
        records=sum(x.records for x in segments),
        recent_days=RECENT_DAYS,
        feedback=_feedback_counts(feedback),
        may_change=dep.active and ctx.may(Action.DEPLOYMENT_CREATE),
        may_rollback=dep.active and ctx.may(Action.DEPLOYMENT_ROLLBACK),
    )


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
