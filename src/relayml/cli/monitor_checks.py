"""`relay monitors set-endpoint`, `check` and `checks`: the live model server a monitor checks
for model shift, a check now, and the checks recorded (registered by `relay monitors`' module;
the checks are in `relayml.monitoring.shift`).

    relay monitors check churn-api --endpoint http://127.0.0.1:8600
"""

from __future__ import annotations

from typing import Annotated

import typer

from relayml.cli import output, state
from relayml.cli.commands.monitors import JsonOpt, MonitorArg, ProjectOpt, _emit
from relayml.domain.monitors import format_seconds


def set_endpoint(
    name: MonitorArg,
    endpoint: Annotated[
        str | None,
        typer.Argument(help="The live model server's URL (http://127.0.0.1:8600)."),
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Check no server any more (no URL given).")
    ] = False,
    check_every: Annotated[
        str | None, typer.Option("--check-every", help="How often the runner checks it.")
    ] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set the live model server `relay monitors run` checks for model shift (or --clear)."""
    from relayml.errors import InvalidInput

    if (endpoint is None) != clear:
        raise InvalidInput("give the server's URL, or --clear to check no server (not both)")
    with state.backend() as backend:
        mon = backend.monitors.set_endpoint(
            state.project(project), name, endpoint, check_every=check_every
        )
    if as_json:
        _emit(mon)
        return
    c = mon.config
    if c.endpoint is None:
        output.print_(f"{mon.name}: no model server checked")
    else:
        output.print_(f"{mon.name}: checks {c.endpoint} every {format_seconds(c.check_every)}")


def check(
    name: MonitorArg,
    endpoint: Annotated[
        str | None,
        typer.Option("--endpoint", help="The model server to check (default: the monitor's)."),
    ] = None,
    atol: Annotated[
        float,
        typer.Option(help="How far a replayed probability (or value) may be from the recorded."),
    ] = 1e-6,
    settle: Annotated[
        float,
        typer.Option(
            help="Seconds a server may take to follow the registry before a difference counts."
        ),
    ] = 10.0,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the monitor's live server for model shift now (the served digest, the golden-set
    replay) and record both on the monitor: a failure alerts at once, a pass resolves. Exit 1
    when a check fails. (`relay deployments verify` checks without recording.)"""
    from relayml.cli.shift import print_report
    from relayml.monitoring.shift import check_monitor

    with state.backend() as backend:
        report, recorded = check_monitor(
            backend, state.project(project), name, endpoint, atol=atol, settle=settle
        )
    if as_json:
        doc = report.to_dict()
        doc["recorded"] = [c.seq for c in recorded]
        output.emit_json(doc)
    else:
        print_report(report)
        output.print_(f"[dim]recorded as check(s) {', '.join(str(c.seq) for c in recorded)}[/]")
    if not report.passed:
        raise typer.Exit(code=output.EXIT_CHECK_FAILED)


def checks(
    name: MonitorArg,
    limit: Annotated[int, typer.Option("--limit", help="The newest N.")] = 100,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The monitor's model-shift checks (served digest, golden-set replay)."""
    with state.backend() as backend:
        found = backend.monitors.checks(state.project(project), name, limit=limit)
    if as_json:
        _emit(found)
        return
    t = output.table("#", "kind", "result", "at", "by")
    for c in found:
        t.add_row(
            str(c.seq),
            c.kind.value,
            "passed" if c.passed else "[red]FAILED[/]",
            output.when(c.at),
            c.by,
        )
    output.print_(t)
