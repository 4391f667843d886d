"""`relay monitors` and `relay alerts`: watch a deployment for data shift, prediction drift and
performance, run the monitors, read their windows and report, and work their alerts.

    relay monitors create churn-api --window 1h --target churned --alert-after 3/4
    relay monitors run --once                       # or without --once: every 60 s
    relay monitors history churn-api --last 24      # or --by day
    relay monitors report churn-api --html churn-api.html
    relay alerts ls
    relay alerts ack ALERT_ID --note "looking"

Here the monitors themselves (create, ls, show, pause, resume, archive) and what the other
modules share; this module registers the commands of `cli/monitor_history.py` (history,
report), `cli/monitor_runner.py` (process, run), `cli/monitor_checks.py` (set-endpoint, check,
checks) and `cli/monitor_alerts.py` (`relay alerts`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from relayml.cli import output, state
from relayml.domain.monitors import format_seconds

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
ProjectOpt = Annotated[
    str | None, typer.Option("--project", "-p", help="Project (default: the global one).")
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")]
MonitorArg = Annotated[str, typer.Argument(help="The monitor's name (default: its deployment's).")]
AlertArg = Annotated[str, typer.Argument(help="The alert's id (relay alerts ls).")]
SinceOpt = Annotated[
    datetime | None, typer.Option("--since", help="From this moment (UTC unless an offset).")
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        help="The live model server (http://127.0.0.1:8600) the runner checks for model shift.",
    ),
]
CheckEveryOpt = Annotated[
    str, typer.Option("--check-every", help="How often the runner checks --endpoint (5m).")
]
UntilOpt = Annotated[
    datetime | None, typer.Option("--until", help="Up to this moment (UTC unless an offset).")
]


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _emit(value: Any) -> None:
    from relayml.wire import monitors as w

    kinds: dict[str, Any] = {
        "Monitor": w.MonitorOut,
        "Window": w.WindowOut,
        "Rollup": w.RollupOut,
        "Check": w.CheckOut,
        "Alert": w.AlertOut,
        "ProcessResult": w.ProcessResultOut,
        "MonitorReport": w.MonitorReportOut,
    }
    if isinstance(value, list):
        output.emit_json([kinds[type(v).__name__].from_domain(v) for v in value])
    else:
        output.emit_json(kinds[type(value).__name__].from_domain(value))


def _line(mon: Any) -> str:
    c = mon.config
    state_ = "" if mon.active else f" [yellow]{mon.status.value.upper()}[/]"
    return (
        f"{mon.name}: {mon.deployment} in windows of {c.window}, reference {c.reference} "
        f"({mon.model}@{mon.model_version}){state_}"
    )


_WHY = {
    "named": "named with --evaluation",
    "promotion": "the dataset its promotion evaluated it on",
    "reference": "no evaluation recorded: the reference dataset itself",
}


def _outputs(mon: Any, ref: Any) -> str:
    """Where one version's prediction baseline and calibration came from, and why."""
    data = ref.evaluation or ref.dataset
    why = _WHY.get(ref.evaluation_from, ref.evaluation_from)
    return (
        f"{mon.model}@{ref.model_version}: input drift vs {ref.dataset}; prediction baseline "
        f"and calibration on {data} ({why})"
    )


def _metric(doc: dict[str, Any] | None, part: str) -> str:
    from relayml.domain.numbers import decode_float

    found = (doc or {}).get(part) or {}

    def one(name: str) -> str:
        value = decode_float(found[name].get("value"))
        return f"{name} {output.number(value)}" if value == value else f"{name} -"

    for name in ("auc", "accuracy"):  # a classifier's headline metric
        if name in found:
            return one(name)
    return ", ".join(one(n) for n in ("mae", "rmse") if n in found) or "-"  # a regressor's


# monitors ---------------------------------------------------------------------------------------
def create(
    deployment: Annotated[str, typer.Argument(help="The deployment to watch (e.g. churn-api).")],
    window: Annotated[
        str,
        typer.Option("--window", help="A duration (15m, 1h, 1d) or a number of rows (50000)."),
    ] = "1h",
    name: Annotated[
        str | None, typer.Option("--name", help="The monitor's name (default: the deployment's).")
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            help="Dataset version to compare with (default: the one the model's run used).",
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="The reference's label column (calibrates estimates)."),
    ] = None,
    min_rows: Annotated[
        int, typer.Option("--min-rows", help="Rows a window needs before it decides anything.")
    ] = 100,
    alert_after: Annotated[
        str,
        typer.Option(
            "--alert-after", help="K/N: alert when K of the last N decided windows show it."
        ),
    ] = "3/4",
    label_horizon: Annotated[
        str,
        typer.Option("--label-horizon", help="How long feedback still updates a window (30d)."),
    ] = "30d",
    grace: Annotated[
        str, typer.Option("--grace", help="How long a time window waits past its end (5m).")
    ] = "5m",
    owner: Annotated[
        str, typer.Option("--owner", help="The role whose inbox gets its alerts.")
    ] = "ml_engineer",
    since: SinceOpt = None,
    endpoint: EndpointOpt = None,
    check_every: CheckEveryOpt = "5m",
    no_traffic_after: Annotated[
        int | None,
        typer.Option(
            "--no-traffic-after",
            help="Alert (critical) after this many time windows in a row without rows.",
        ),
    ] = None,
    evaluation: Annotated[
        str | None,
        typer.Option(
            "--evaluation",
            help="Dataset version whose rows and labels give the model's outputs (prediction "
            "baseline, calibration); default: the one its promotion evaluated it on, else the "
            "reference.",
        ),
    ] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Watch a deployment: drift per input column, prediction drift, performance with and
    without labels, per window; with --endpoint, model shift of the live server too."""
    with state.backend() as backend:
        mon = backend.monitors.create(
            state.project(project),
            deployment,
            name=name,
            window=window,
            reference=reference,
            target=target,
            min_rows=min_rows,
            alert_after=alert_after,
            label_horizon=label_horizon,
            grace=grace,
            owner=owner,
            since=_utc(since),
            endpoint=endpoint,
            check_every=check_every,
            no_traffic_after=no_traffic_after,
            evaluation=evaluation,
        )
    if as_json:
        _emit(mon)
        return
    output.print_(f"monitoring {_line(mon)}")
    for r in mon.references:
        output.print_(f"  {_outputs(mon, r)}")
    if mon.config.no_traffic_after is not None:
        output.print_(
            f"  no traffic: alerts after {mon.config.no_traffic_after} windows without rows"
        )
    if mon.config.endpoint is not None:
        every = format_seconds(mon.config.check_every)
        output.print_(f"  model shift: checks {mon.config.endpoint} every {every}")
    c = mon.config
    output.print_(
        f"  alerts to {c.owner} when {c.alert_after} decided windows (>= {c.min_rows} rows) "
        f"show it; labels count for {output.number(c.label_horizon / 86_400)} days"
    )
    output.print_("[dim]process it with: relay monitors run (or --once from cron)[/]")


def ls(
    include_archived: Annotated[bool, typer.Option("--all", help="Archived ones too.")] = False,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The project's monitors."""
    proj = state.project(project)
    with state.backend() as backend:
        found = backend.monitors.list_monitors(proj, include_archived)
    if as_json:
        _emit(found)
        return
    t = output.table(
        "monitor",
        "deployment",
        "window",
        "reference",
        "alert after",
        "owner",
        "status",
        "processed",
    )
    for m in found:
        c = m.config
        t.add_row(
            m.name,
            m.deployment,
            str(c.window),
            c.reference,
            str(c.alert_after),
            c.owner,
            m.status.value,
            output.when(m.processed_at),
        )
    output.print_(t)
    if not found:
        output.print_(
            f"[dim]no monitors in {proj}; create one with: relay monitors create DEPLOYMENT[/]"
        )


def show(name: MonitorArg, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """One monitor: its settings, its newest windows and live alerts."""
    proj = state.project(project)
    with state.backend() as backend:
        mon = backend.monitors.get(proj, name)
        windows = backend.monitors.history(proj, name, last=5)
        alerts = backend.monitors.list_alerts(proj, monitor=name)
    if as_json:
        _emit(mon)
        return
    c = mon.config
    output.print_(_line(mon))
    output.print_(
        f"  label column {c.target or '-'}; min rows {c.min_rows}; alert after "
        f"{c.alert_after}; owner {c.owner}; reading from {output.when(c.since)}"
    )
    output.print_(
        f"  created {output.when(mon.created_at)} by {mon.created_by}; processed "
        f"{output.when(mon.processed_at)}"
    )
    if len(mon.references) > 1:
        output.print_(
            "  references (each version's windows are compared with its own): "
            + ", ".join(f"{mon.model}@{r.model_version} on {r.dataset}" for r in mon.references)
        )
    if c.evaluation is not None:
        output.print_(f"  evaluation dataset (named): {c.evaluation}")
    for r in mon.references:
        output.print_(f"  {_outputs(mon, r)}")
    if c.endpoint is not None:
        output.print_(f"  model shift: checks {c.endpoint} every {format_seconds(c.check_every)}")
    if mon.status_reason:
        output.print_(f"  {mon.status.value}: {output.escape(mon.status_reason)}")
    _windows(windows)
    _alerts(alerts)


def _windows(windows: list[Any]) -> None:
    t = output.table(
        "window",
        "start",
        "end",
        "model",
        "rows",
        "labelled",
        "decided",
        "flagged",
        "estimated",
        "realised",
    )
    for w in windows:
        flagged = "; ".join(f"{k}: {', '.join(v)}" for k, v in w.flags.items()) or "-"
        decided = "open" if not w.closed else ("yes" if w.decided else "too few rows")
        t.add_row(
            str(w.seq),
            output.when(w.start),
            output.when(w.end),
            f"@{w.model_version}" if w.model_version is not None else "-",
            str(w.rows),
            str(w.labelled),
            decided,
            output.escape(flagged),
            _metric(w.assessment, "estimated"),
            _metric(w.assessment, "realised"),
        )
    output.print_(t)


def _alerts(alerts: list[Any]) -> None:
    if not alerts:
        output.print_("[dim]no live alerts[/]")
        return
    t = output.table(
        "alert", "severity", "state", "monitor", "what", "since", "windows", no_wrap=("alert",)
    )
    for a in alerts:
        t.add_row(
            a.id,
            a.severity.value,
            a.state.value,
            a.monitor,
            output.escape(a.title),
            output.when(a.since),
            str(a.windows),
        )
    output.print_(t)


def _status(what: str) -> Any:
    def change(
        name: MonitorArg,
        reason: ReasonOpt = "",
        project: ProjectOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        with state.backend() as backend:
            mon = getattr(backend.monitors, what)(state.project(project), name, reason=reason)
        if as_json:
            _emit(mon)
            return
        output.print_(f"{mon.name}: {mon.status.value}")

    change.__doc__ = {
        "pause": "Stop processing a monitor until resumed (its alerts stay).",
        "resume": "Process a paused monitor again (the windows missed are caught up).",
        "archive": "Stop a monitor for good: kept with its windows, its live alerts resolved.",
    }[what]
    return change


def register(app: typer.Typer) -> None:
    from relayml.cli import monitor_checks, monitor_history, monitor_runner

    monitors = typer.Typer(
        help="Monitors: data shift, prediction drift and performance of deployments, per window."
    )
    commands: tuple[tuple[str, Any], ...] = (
        ("create", create),
        ("ls", ls),
        ("show", show),
        ("history", monitor_history.history),
        ("pause", _status("pause")),
        ("resume", _status("resume")),
        ("archive", _status("archive")),
        ("process", monitor_runner.process),
        ("run", monitor_runner.run),
        ("report", monitor_history.report),
        ("set-endpoint", monitor_checks.set_endpoint),
        ("check", monitor_checks.check),
        ("checks", monitor_checks.checks),
    )
    for name, fn in commands:
        monitors.command(name)(fn)
    app.add_typer(monitors, name="monitors", no_args_is_help=True)
    from relayml.cli import monitor_alerts as m

    alerts = typer.Typer(help="Alerts of monitors: list, show, acknowledge, comment, resolve.")
    for name, fn in (
        ("ls", m.alerts_ls),
        ("show", m.alerts_show),
        ("ack", m.alerts_ack),
        ("comment", m.alerts_comment),
        ("resolve", m.alerts_resolve),
    ):
        alerts.command(name)(fn)
    app.add_typer(alerts, name="alerts", no_args_is_help=True)
