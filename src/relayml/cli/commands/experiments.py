"""`relay experiments ls`."""

from __future__ import annotations

from typing import Annotated

import typer

from relayml.cli import output, state


def ls(
    project: Annotated[str | None, typer.Option("--project", "-p", help="Project.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """List a project's experiments with their run counts."""
    name = state.project(project)
    with state.backend() as backend:
        experiments = backend.list_experiments(name)
    if as_json:
        output.emit_json(experiments)
        return
    t = output.table(
        "experiment", "runs", "created by", "created at", title=f"Experiments in {name}"
    )
    for e in experiments:
        t.add_row(e.name, str(e.run_count), e.created_by, output.when(e.created_at))
    output.print_(t)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Experiments: named groups of runs in a project.")
    group.command("ls")(ls)
    app.add_typer(group, name="experiments", no_args_is_help=True)
