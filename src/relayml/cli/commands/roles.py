"""`relay roles ls|show|apply|history`: custom roles and changes to the built-in ones.

relay roles apply roles.yaml                  # the installation's (every project)
relay roles apply churn-roles.yaml -p churn   # one project's, over the installation's
relay roles ls -p churn                       # every role there, and where it comes from
relay roles show risk_officer -p churn        # its actions and how they differ
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from relayml.cli import output, state

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
ProjectOpt = Annotated[
    str | None,
    typer.Option(
        "--project",
        "-p",
        help="Project (default: -p, RELAY_PROJECT or relay use); none or '*': the installation.",
    ),
]


def _where(project: str | None) -> str:
    return "the installation" if project in (None, "*") else f"project {project}"


def _actions(names: list[str]) -> str:
    return ", ".join(names) or "-"


def ls(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Every role, built-in or custom, what it may do and where its definition comes from."""
    chosen = state.project_if_chosen(project)
    with state.backend() as backend:
        found = backend.roles.list_roles(chosen)
    from relayml.wire.roles import RoleOut

    rows = [RoleOut.from_domain(r) for r in found]
    if as_json:
        output.emit_json([r.model_dump(mode="json") for r in rows])
        return
    t = output.table("role", "from", "actions", "changes", title=f"Roles in {_where(chosen)}")
    for r in rows:
        changes = " ".join([*(f"+{a}" for a in r.added), *(f"-{a}" for a in r.removed)])
        t.add_row(r.name, r.source, str(len(r.actions)), changes or "-")
    output.print_(t)


def show(
    name: Annotated[str, typer.Argument(help="The role.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One role: its actions, and what was added to or removed from its default."""
    chosen = state.project_if_chosen(project)
    with state.backend() as backend:
        found = backend.roles.get(name, chosen)
    from relayml.wire.roles import RoleOut

    r = RoleOut.from_domain(found)
    if as_json:
        output.emit_json(r.model_dump(mode="json"))
        return
    output.print_(f"role [bold]{r.name}[/] in {_where(chosen)}: {r.source}")
    if r.description:
        output.print_(f"  {output.escape(r.description)}")
    output.print_(f"  may: {_actions(r.actions)}")
    base = "default" if r.builtin else "definition"
    if r.added or r.removed:
        output.print_(f"  [green]added to its {base}:[/] {_actions(r.added)}")
        output.print_(f"  [red]removed from its {base}:[/] {_actions(r.removed)}")
    else:
        output.print_(f"  as its {base}")


def apply(
    file: Annotated[Path, typer.Argument(help="The roles document (YAML).")],
    project: ProjectOpt = None,
) -> None:
    """Make FILE the roles document of the project, or of the installation (a new version;
    audited). Refused whole if it would break a grant, a policy or a project's own document."""
    from relayml.errors import InvalidInput

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {file}: {exc}") from None
    chosen = state.project_if_chosen(project)
    with state.backend() as backend:
        doc = backend.roles.apply(text, chosen)
    output.print_(
        f"applied roles document version {doc.version} to {_where(chosen)} "
        f"(sha256 {doc.digest[:12]}); see it with: relay roles ls"
        + ("" if chosen in (None, "*") else f" -p {chosen}")
    )


def history(
    project: ProjectOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """The versions of the roles document, newest first: who applied each, when, its digest."""
    chosen = state.project_if_chosen(project)
    with state.backend() as backend:
        found = backend.roles.history(chosen, limit)
    if as_json:
        from relayml.wire.roles import RolesDocumentOut

        output.emit_json([RolesDocumentOut.from_domain(d).model_dump(mode="json") for d in found])
        return
    t = output.table("version", "applied", "by", "sha256", title=f"Roles of {_where(chosen)}")
    for d in found:
        t.add_row(str(d.version), output.when(d.created_at), d.created_by, d.digest[:12])
    output.print_(t)
    if not found:
        output.print_("[dim]no roles document applied: the built-in roles are in force[/]")


def register(app: typer.Typer) -> None:
    roles = typer.Typer(
        help="Roles: what each may do, custom roles and changes to the built-in ones (admins)."
    )
    for name, fn in (("ls", ls), ("show", show), ("apply", apply), ("history", history)):
        roles.command(name)(fn)
    app.add_typer(roles, name="roles", no_args_is_help=True)
