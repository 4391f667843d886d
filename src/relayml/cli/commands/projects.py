"""`relay projects create|ls`."""

from __future__ import annotations

from typing import Annotated

import typer

from relayml.cli import output, state

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def create(
    name: Annotated[str, typer.Argument(help="Project name.")],
    description: Annotated[str, typer.Option("--description", "-d")] = "",
) -> None:
    """Create a project (admins only)."""
    with state.backend() as backend:
        project = backend.create_project(name, description)
    output.print_(f"created project [bold]{output.escape(project.name)}[/]")


def ls(as_json: JsonFlag = False) -> None:
    """List the projects you can see."""
    with state.backend() as backend:
        projects = backend.list_projects()
    if as_json:
        output.emit_json(projects)
        return
    t = output.table("name", "description", "created by", "created at", title="Projects")
    for p in projects:
        t.add_row(p.name, output.escape(p.description), p.created_by, output.when(p.created_at))
    output.print_(t)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Projects: the scope of runs, models and role grants.")
    group.command("create")(create)
    group.command("ls")(ls)
    app.add_typer(group, name="projects", no_args_is_help=True)
