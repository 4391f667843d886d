"""`relay alerts`: a monitor's alerts from the shell — list, show, acknowledge, comment,
resolve (registered by `relay monitors`' module, whose area they belong to).

    relay alerts ls
    relay alerts ack ALERT_ID --note "looking"
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from relayml.cli import output, state
from relayml.cli.commands.monitors import AlertArg, JsonOpt, ProjectOpt, _alerts, _emit


def alerts_ls(
    monitor: Annotated[str | None, typer.Option("--monitor", help="Only this monitor's.")] = None,
    include_resolved: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="At most N.")] = 100,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Live alerts (open or acknowledged), newest change first."""
    with state.backend() as backend:
        found = backend.monitors.list_alerts(
            state.project(project), monitor=monitor, include_resolved=include_resolved, limit=limit
        )
    if as_json:
        _emit(found)
        return
    _alerts(found)


def alerts_show(alert_id: AlertArg, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """One alert: what changed, how much, since when, its life, and where to look."""
    with state.backend() as backend:
        a = backend.monitors.get_alert(state.project(project), alert_id)
    if as_json:
        _emit(a)
        return
    _alert(a)


def _alert(a: Any) -> None:
    import json

    from relayml.domain.numbers import json_safe

    output.print_(f"[bold]{a.severity.value.upper()}[/] {output.escape(a.title)}")
    output.print_(
        f"  alert {a.id}, {a.state.value}; {a.kind.value} on {a.subject}; monitor "
        f"{a.monitor} ({a.deployment}); owner {a.owner}"
    )
    output.print_(
        f"  since {output.when(a.since)}, in {a.windows} windows (newest "
        f"{a.last_window if a.last_window is not None else '-'})"
    )
    shown = a.details.get("shown") or a.details.get("latest") or {}
    reason = shown.get("reason") if isinstance(shown, dict) else None
    if reason:
        output.print_(f"  why: {output.escape(str(reason))}")
    for n in a.notes:
        text = f": {output.escape(n.text)}" if n.text else ""
        output.print_(f"  {output.when(n.at)} {n.who} {n.what}{text}")
    output.print_(f"[dim]look: {a.link}[/]")
    if not reason and a.details:
        output.print_(output.escape(json.dumps(json_safe(a.details), indent=2)[:2000]))


def alerts_ack(
    alert_id: AlertArg,
    note: Annotated[str, typer.Option("--note", help="What you are doing about it.")] = "",
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Acknowledge an alert: someone is on it (it stays live until it clears or is resolved)."""
    with state.backend() as backend:
        a = backend.monitors.ack_alert(state.project(project), alert_id, note=note)
    if as_json:
        _emit(a)
        return
    output.print_(f"alert {a.id} acknowledged by {a.acknowledged_by}")


def alerts_comment(
    alert_id: AlertArg,
    text: Annotated[str, typer.Argument(help="The comment.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a comment to an alert's record."""
    with state.backend() as backend:
        a = backend.monitors.comment_alert(state.project(project), alert_id, text)
    if as_json:
        _emit(a)
        return
    output.print_(f"alert {a.id}: {len(a.notes)} notes")


def alerts_resolve(
    alert_id: AlertArg,
    reason: Annotated[str, typer.Option("--reason", help="Why it is resolved (required).")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Resolve an alert by hand (it opens anew if its condition still holds)."""
    with state.backend() as backend:
        a = backend.monitors.resolve_alert(state.project(project), alert_id, reason=reason)
    if as_json:
        _emit(a)
        return
    output.print_(f"alert {a.id} resolved by {a.resolved_by}")
