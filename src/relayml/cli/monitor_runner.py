"""`relay monitors process` and `relay monitors run`: process one monitor now, or every monitor
on a schedule, handing the live alerts to the loops (registered by `relay monitors`' module;
the work is in `relayml.monitoring.runner`).

    relay monitors run --once                       # or without --once: every 60 s
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from relayml.cli import output, state
from relayml.cli.commands.monitors import JsonOpt, MonitorArg, ProjectOpt, _emit


def process(name: MonitorArg, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Process one monitor now: new log segments into windows, feedback, decisions, alerts."""
    with state.backend() as backend:
        result = backend.monitors.process(state.project(project), name)
    if as_json:
        _emit(result)
        return
    _result(state.project(project), result)


def _result(project: str, r: Any) -> None:
    if not r.claimed:
        output.print_(f"{project}/{r.monitor}: skipped ({r.note})")
        return
    parts = [f"{r.segments} segments, {r.rows} rows"]
    if r.closed:
        parts.append(f"closed windows {', '.join(map(str, r.closed))}")
    if r.updated:
        parts.append(f"updated {', '.join(map(str, r.updated))}")
    if r.opened:
        parts.append(f"[red]{len(r.opened)} alert(s) opened[/]")
    if r.resolved:
        parts.append(f"{len(r.resolved)} resolved")
    output.print_(f"{project}/{r.monitor}: " + "; ".join(parts))


def run(
    once: Annotated[
        bool, typer.Option("--once", help="One pass over every monitor, then exit.")
    ] = False,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between passes.")] = 60.0,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only this project's monitors.")
    ] = None,
    loops: Annotated[
        bool,
        typer.Option(
            "--loops/--no-loops",
            help="Hand alerts to the project's loops and drive them (default: yes).",
        ),
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Process every monitor you manage, every --interval seconds (safe to run twice); then
    hand the live alerts to the loops that react to them and drive the loops' runs."""
    from relayml.monitoring import runner

    def report(o: runner.Outcome) -> None:
        if o.result is not None:
            _result(o.project, o.result)
        if o.error is not None:
            output.print_(f"{o.project}/{o.monitor}: [red]{output.escape(o.error)}[/]")
        for c in o.checks:
            said = "passed" if c.passed else "[red]FAILED[/]"
            what = output.escape(str(c.details.get("message", "")))
            output.print_(f"{o.project}/{o.monitor}: {c.kind.value} check {said}: {what}")
        if o.check_error is not None:
            output.print_(f"{o.project}/{o.monitor}: [red]{output.escape(o.check_error)}[/]")
        for r in o.loop_runs:
            output.print_(
                f"{o.project}/{o.monitor}: loop {r.loop} run {r.id} started by alert {r.alert}"
            )

    def said(lo: runner.LoopsOutcome) -> None:
        if as_json:
            return
        for t in lo.turns:
            line = f"{lo.project}: loop {t.run.loop} run {t.run.id}: {t.did}"
            output.print_(output.escape(line))
        if lo.error is not None:
            output.print_(f"{lo.project}: [red]{output.escape(lo.error)}[/]")

    from relayml.pipelines import worker_env

    proj = state.project_if_chosen(project)
    env = worker_env(state.settings(), state.options.server, state.options.token)
    with state.backend() as backend:
        if once:
            outcomes = runner.once(backend, proj, loops=loops, env=env, on_loops=said)
            if as_json:
                from relayml.wire.monitors import CheckOut, ProcessResultOut

                output.emit_json(
                    [
                        {
                            "project": o.project,
                            "monitor": o.monitor,
                            "error": o.error,
                            "result": ProcessResultOut.from_domain(o.result) if o.result else None,
                            "loop_runs": [r.id for r in o.loop_runs],
                            "checks": [CheckOut.from_domain(c) for c in o.checks],
                            "check_error": o.check_error,
                        }
                        for o in outcomes
                    ]
                )
                return
            for o in outcomes:
                report(o)
            return
        output.print_(f"relay monitors run: every {interval:g} s; Ctrl-C stops it")
        try:
            with state.delivering(backend):
                runner.serve(
                    backend, project=proj, interval=interval, loops=loops, env=env,
                    report=report, on_loops=said,
                )  # fmt: skip
        except KeyboardInterrupt:
            output.print_("stopped")
