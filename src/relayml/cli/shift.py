"""`relay deployments verify churn-api --endpoint http://127.0.0.1:8600`: the model-shift
checks of one deployment against a running model server (the work is in
`relayml.monitoring.shift`). Exit 0 when what serves is what the registry resolves to and it
gives the golden set's recorded outputs; exit 1 (a failed check, on stderr) otherwise.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from relayml.cli import options, output, state

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
ProjectOpt = Annotated[
    str | None, typer.Option("--project", "-p", help="Project (default: the global one).")
]


def verify(
    name: options.DeploymentArg,
    endpoint: Annotated[
        str, typer.Option("--endpoint", help="The model server serving it (http://host:8600).")
    ],
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
    replay: Annotated[
        bool, typer.Option("--replay/--no-replay", help="Replay the golden set (default: yes).")
    ] = True,
    monitor: Annotated[
        str | None,
        typer.Option(
            "--monitor",
            help="Record the checks on this monitor: a failure alerts at once, a pass resolves.",
        ),
    ] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Model shift: does the server at --endpoint serve exactly what NAME resolves to in the
    registry (each arm's version and sha256), and does it give the outputs recorded at
    registration on the version's golden set (labels equal, probabilities within --atol)?
    Exit 1 when either check fails."""
    from relayml.monitoring.shift import check_shift, record_shift

    with state.backend() as backend:
        proj = state.project(project)
        report = check_shift(backend, proj, name, endpoint, atol=atol, settle=settle,
                             replay=replay)  # fmt: skip
        if monitor is not None:
            record_shift(backend, proj, monitor, report)
    if as_json:
        output.emit_json(report.to_dict())
    else:
        print_report(report)
    if not report.passed:
        raise typer.Exit(code=output.EXIT_CHECK_FAILED)


def print_report(report: Any) -> None:
    digest, replay = report.digest, report.replay
    served = ", ".join(f"{a.role} {a.ref} (sha256 {a.digest[:12]})" for a in digest.served)
    if digest.passed:
        output.print_(f"digest  [green]ok[/]      {report.endpoint} serves {served}, as the "
                      f"registry resolves {report.deployment}")  # fmt: skip
    else:
        output.print_(f"digest  [red]SHIFTED[/] {report.endpoint} for {report.deployment}")
        for problem in digest.problems:
            output.print_(f"  {output.escape(problem)}")
            output.check_failed(f"model shift (digest): {problem}")
    if replay is None:
        return
    if replay.passed is None:
        output.print_(f"replay  [yellow]skipped[/] {output.escape(replay.skipped or '')}")
        return
    if replay.passed:
        output.print_(f"replay  [green]ok[/]      {replay.rows} golden rows of {replay.version} "
                      f"gave the recorded outputs (atol {replay.atol:g})")  # fmt: skip
        return
    output.print_(f"replay  [red]SHIFTED[/] golden set of {replay.version}, answered by "
                  f"{replay.answered_by or 'nobody'}")  # fmt: skip
    for problem in replay.problems:
        output.print_(f"  {output.escape(problem)}")
        output.check_failed(f"model shift (replay): {problem}")
    found = replay.differences
    if found:
        rows = len({d.row for d in found})
        outputs = sorted({d.output for d in found})
        output.check_failed(
            f"model shift (replay): {len(found)} output(s) on {rows} of {replay.rows} golden "
            f"rows differ from those recorded at registration ({', '.join(outputs[:5])})"
        )
        t = output.table("golden row", "output", "recorded", "served")
        for d in found[:20]:
            t.add_row(output.escape(d.where), output.escape(d.output), _cell(d.recorded),
                      _cell(d.served))  # fmt: skip
        output.print_(t)
        if len(found) > 20:
            output.print_(f"[dim]... and {len(found) - 20} more (--json lists the first 20)[/]")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return output.escape(str(value))
