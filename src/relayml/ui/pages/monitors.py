"""Monitors and alerts: the project's monitors with their live alerts; a monitor's page (its
timeline per window: drift per input column, prediction drift, realised against estimated
performance, model-shift checks and alerts), with the content of `relay monitors report
--html` (`reports.monitor_html.body`) and Pause, Resume and Archive for the roles that may
(`monitor.manage`); the alerts, and an alert's page with Acknowledge, Comment and Resolve for
the roles that may (`alert.ack`).

No "process now" button: a pass (`MonitorsService.process`) reads up to 500 log segments or
5,000,000 rows and may first build a new model version's reference (loading the model and
scoring its evaluation dataset), which is seconds to minutes of a server thread; `relay
monitors run` (or `relay monitors process`) does that work outside a page request."""

from __future__ import annotations

from collections import Counter
from urllib.parse import quote

from markupsafe import Markup
from starlette.responses import Response

from relayml.domain.monitors import Monitor, MonitorStatus, check_note
from relayml.domain.roles import Action
from relayml.reports.monitor_html import body
from relayml.services.alerts import MAX_ALERTS as ALERTS_COUNTED
from relayml.ui.web import Area, Context, NavItem

area = Area(NavItem("Monitors", "monitors", Action.MONITOR_READ, 60))
MAX_ALERTS = 200


@area.get("/p/{project}/monitors")
def monitors(ctx: Context) -> Response:
    s, who, p = ctx.services, ctx.who, ctx.project
    archived = ctx.arg("archived") == "1"
    found = s.monitors.list_monitors(who, p, archived)
    live = s.monitors.list_alerts(who, p, limit=MAX_ALERTS)
    return ctx.render(
        "monitors/monitors.html",
        monitors=found,
        alerts=live,
        live=Counter(a.monitor for a in live),
        archived=archived,
    )


@area.get("/p/{project}/monitors/{name}")
def monitor(ctx: Context) -> Response:
    name = ctx.request.path_params["name"]
    report = ctx.services.monitors.report(ctx.who, ctx.project, name)
    return ctx.render(
        "monitors/monitor.html",
        report=report,
        mon=report.monitor,
        content=Markup(body(report)),  # noqa: S704 (monitor_html escapes every value)
        may_manage=report.monitor.status is not MonitorStatus.ARCHIVED
        and ctx.may(Action.MONITOR_MANAGE),
    )


def _monitor_changed(ctx: Context) -> tuple[str, str]:
    """The monitor a status form names and its reason (required here, as every UI form that
    changes a status asks for one; the service checks the caller and the text)."""
    return ctx.request.path_params["name"], check_note(
        "reason", ctx.form.get("reason", ""), required=True
    )


def _to_monitor(ctx: Context) -> Response:
    name = quote(ctx.request.path_params["name"], safe="")
    return ctx.redirect(ctx.url(f"monitors/{name}") + "#status")


@area.post("/p/{project}/monitors/{name}/pause")
def pause(ctx: Context) -> Response:
    name, reason = _monitor_changed(ctx)
    ctx.services.monitors.pause(ctx.who, ctx.project, name, reason=reason)
    return _to_monitor(ctx)


@area.post("/p/{project}/monitors/{name}/resume")
def resume(ctx: Context) -> Response:
    name, reason = _monitor_changed(ctx)
    ctx.services.monitors.resume(ctx.who, ctx.project, name, reason=reason)
    return _to_monitor(ctx)


@area.post("/p/{project}/monitors/{name}/archive")
def archive(ctx: Context) -> Response:
    name, reason = _monitor_changed(ctx)
    ctx.services.monitors.archive(ctx.who, ctx.project, name, reason=reason)
    return _to_monitor(ctx)


def watching(ctx: Context, deployment: str) -> list[tuple[Monitor, int]] | None:
    """For a deployment's page: the monitors on it (archived ones left out), each with its
    number of live alerts (counted up to `ALERTS_COUNTED`); None when the caller's roles do
    not read monitors."""
    if not ctx.may(Action.MONITOR_READ):
        return None
    s, who, p = ctx.services.monitors, ctx.who, ctx.project
    mine = [mon for mon in s.list_monitors(who, p) if mon.deployment == deployment]
    return [
        (mon, len(s.list_alerts(who, p, monitor=mon.name, limit=ALERTS_COUNTED))) for mon in mine
    ]


@area.get("/p/{project}/alerts")
def alerts(ctx: Context) -> Response:
    every = ctx.arg("resolved") == "1"
    found = ctx.services.monitors.list_alerts(
        ctx.who, ctx.project, include_resolved=every, limit=MAX_ALERTS
    )
    return ctx.render("monitors/alerts.html", alerts=found, every=every)


@area.get("/p/{project}/alerts/{alert_id}")
def alert(ctx: Context) -> Response:
    found = ctx.services.monitors.get_alert(
        ctx.who, ctx.project, ctx.request.path_params["alert_id"]
    )
    return ctx.render("monitors/alert.html", alert=found, may_act=ctx.may(Action.ALERT_ACK))


def _back(ctx: Context) -> Response:
    alert_id = quote(ctx.request.path_params["alert_id"], safe="")
    return ctx.redirect(ctx.url(f"alerts/{alert_id}") + "#notes")


@area.post("/p/{project}/alerts/{alert_id}/ack")
def ack(ctx: Context) -> Response:
    ctx.services.monitors.ack_alert(
        ctx.who, ctx.project, ctx.request.path_params["alert_id"], note=ctx.form.get("note", "")
    )
    return _back(ctx)


@area.post("/p/{project}/alerts/{alert_id}/comment")
def comment(ctx: Context) -> Response:
    ctx.services.monitors.comment_alert(
        ctx.who, ctx.project, ctx.request.path_params["alert_id"], ctx.form.get("text", "")
    )
    return _back(ctx)


@area.post("/p/{project}/alerts/{alert_id}/resolve")
def resolve(ctx: Context) -> Response:
    ctx.services.monitors.resolve_alert(
        ctx.who,
        ctx.project,
        ctx.request.path_params["alert_id"],
        reason=ctx.form.get("reason", ""),
    )
    return _back(ctx)
