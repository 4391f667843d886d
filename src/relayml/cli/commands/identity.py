"""The identity area: `relay projects create|ls`, `relay users
create|ls|grant|revoke|token|deactivate|activate`, `relay tokens ls|issue|revoke`
and `relay whoami`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from relayml.cli import output, state

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
ProjectOpt = Annotated[
    str | None,
    typer.Option(
        "--project",
        "-p",
        help="Project (default: the global --project or 'default'); '*' means every project.",
    ),
]
RoleOpt = Annotated[
    str,
    typer.Option(
        "--role",
        "-r",
        help="data_engineer, data_scientist, ml_engineer, mlops_engineer, devops_engineer, "
        "model_governance, stakeholder, admin, or a custom role (relay roles ls).",
    ),
]

ExpiresOpt = Annotated[
    str | None,
    typer.Option(
        "--expires",
        help="How long the token lasts, e.g. 30d, 12h (default 90d, at most 365d).",
        show_default=False,
    ),
]


def _scope(project: str | None) -> str:
    """A project name, or '*' for a grant in every project."""
    return "*" if project == "*" else state.project(project)


def _show_token(user: str, token: str, expires_at: datetime | None) -> None:
    until = f", valid until {output.when(expires_at)} UTC" if expires_at else ""
    output.print_(f"token for [bold]{user}[/]{until} (shown once; it will not be shown again):")
    # Plain print so the token is never wrapped or styled and can be copied as is.
    print(token)
    output.print_(f"[dim]use it with: RELAY_TOKEN={token[:8]}... relay whoami[/]")


def create(
    name: Annotated[str, typer.Argument(help="User name.")],
    roles: Annotated[
        list[str],
        typer.Option(
            "--role", "-r", help="A role to grant in the project (repeatable).", show_default=False
        ),
    ],
    project: ProjectOpt = None,
    expires: ExpiresOpt = None,
) -> None:
    """Create a user with roles in a project and print their first API token."""
    scope = _scope(project)
    with state.backend() as backend:
        issued = backend.identity.create_user(name, roles, scope, expires=expires)
    where = "every project" if scope == "*" else scope
    output.print_(f"created user [bold]{name}[/] with {', '.join(roles)} in {where}")
    _show_token(issued.user, issued.token, issued.expires_at)


def ls(project: ProjectOpt = None, as_json: JsonFlag = False) -> None:
    """List users and their role grants: those of a project (--project, or the global
    -p/RELAY_PROJECT), or every user with '*' or no project given (platform readers)."""
    chosen = state.project_if_chosen(project)
    with state.backend() as backend:
        users = backend.identity.list_users(chosen)
    if as_json:
        output.emit_json(users)
        return
    t = output.table("user", "grants", "active", "created at", title="Users")
    for u in users:
        grants = "; ".join(
            f"{scope}: {', '.join(str(r) for r in roles)}"
            for scope, roles in sorted(u.grants.items())
        )
        t.add_row(u.name, grants or "-", "yes" if u.active else "no", output.when(u.created_at))
    output.print_(t)


def grant(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: RoleOpt,
    project: ProjectOpt = None,
) -> None:
    """Grant a role in a project ('*' for every project)."""
    scope = _scope(project)
    with state.backend() as backend:
        backend.identity.grant(name, role, scope)
    output.print_(f"granted {role} to {name} in {scope}")


def revoke(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: RoleOpt,
    project: ProjectOpt = None,
) -> None:
    """Revoke a role in a project ('*' for every project)."""
    scope = _scope(project)
    with state.backend() as backend:
        backend.identity.revoke(name, role, scope)
    output.print_(f"revoked {role} from {name} in {scope}")


def token(
    name: Annotated[str, typer.Argument(help="User name.")], expires: ExpiresOpt = None
) -> None:
    """Issue a new API token (for yourself, or for anyone if you are a platform admin)."""
    with state.backend() as backend:
        issued = backend.identity.issue_token(name, expires=expires)
    _show_token(issued.user, issued.token, issued.expires_at)


def deactivate(name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Deactivate a user: none of their tokens authenticates any more (platform admins)."""
    with state.backend() as backend:
        backend.identity.set_user_active(name, False)
    output.print_(f"deactivated {name}: their tokens are refused (by every server within 5 s)")


def activate(name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Reactivate a deactivated user (platform admins)."""
    with state.backend() as backend:
        backend.identity.set_user_active(name, True)
    output.print_(f"reactivated {name}")


def tokens_ls(
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="Only this user's tokens.")
    ] = None,
    as_json: JsonFlag = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only token ids, one per line.")
    ] = False,
) -> None:
    """List tokens (never their secrets): your own; a platform admin sees everyone's."""
    import sys
    from datetime import UTC, datetime

    with state.backend() as backend:
        me = backend.user
        tokens = backend.identity.list_tokens(user)
    if quiet:
        sys.stdout.write("".join(f"{tok.id}\n" for tok in tokens))
        return
    if as_json:
        output.emit_json(tokens)
        return
    now = datetime.now(UTC)
    t = output.table(
        "id", "user", "state", "created at", "expires at", title="Tokens", no_wrap=("id",)
    )
    for tok in tokens:
        state_ = tok.state(now)
        shown = {"active": "[green]active[/]", "expired": "[yellow]expired[/]"}.get(
            state_, f"[red]{state_}[/]"
        )
        t.add_row(tok.id, tok.user, shown, output.when(tok.created_at), output.when(tok.expires_at))
    output.print_(t)
    if not tokens:
        output.print_(f"[dim]no tokens of {user or me}[/]")


def tokens_issue(
    name: Annotated[str, typer.Argument(help="User name.")], expires: ExpiresOpt = None
) -> None:
    """Issue a new API token for USER (yourself, or anyone if you are a platform admin)."""
    token(name, expires)


def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="Token id (relay tokens ls).")],
) -> None:
    """Revoke a token (your own, or anyone's if you are a platform admin)."""
    with state.backend() as backend:
        info = backend.identity.revoke_token(token_id)
    output.print_(f"revoked token {info.id} of {info.user} (refused by every server within 5 s)")


def whoami(as_json: JsonFlag = False) -> None:
    """Who the CLI acts as, and their roles per project."""
    with state.backend() as backend:
        me = backend.identity.whoami()
        kind = backend.kind
    if as_json:
        output.emit_json({**me, "backend": kind})
        return
    output.print_(f"[bold]{me['user']}[/] ({'embedded' if kind == 'local' else 'server'})")
    for scope, roles in sorted(me.get("grants", {}).items()):
        where = "every project" if scope == "*" else scope
        output.print_(f"  {where}: {', '.join(roles)}")


def projects_create(
    name: Annotated[str, typer.Argument(help="Project name.")],
    description: Annotated[str, typer.Option("--description", "-d")] = "",
) -> None:
    """Create a project (admins only)."""
    with state.backend() as backend:
        project = backend.identity.create_project(name, description)
    output.print_(f"created project [bold]{output.escape(project.name)}[/]")


def projects_ls(as_json: JsonFlag = False) -> None:
    """List the projects you can see."""
    with state.backend() as backend:
        projects = backend.identity.list_projects()
    if as_json:
        output.emit_json(projects)
        return
    t = output.table("name", "description", "created by", "created at", title="Projects")
    for p in projects:
        t.add_row(p.name, output.escape(p.description), p.created_by, output.when(p.created_at))
    output.print_(t)


def register(app: typer.Typer) -> None:
    projects = typer.Typer(help="Projects: the scope of runs, models and role grants.")
    projects.command("create")(projects_create)
    projects.command("ls")(projects_ls)
    app.add_typer(projects, name="projects", no_args_is_help=True)
    group = typer.Typer(help="Users, their API tokens and role grants (admins).")
    group.command("create")(create)
    group.command("ls")(ls)
    group.command("grant")(grant)
    group.command("revoke")(revoke)
    group.command("token")(token)
    group.command("deactivate")(deactivate)
    group.command("activate")(activate)
    app.add_typer(group, name="users", no_args_is_help=True)
    tokens = typer.Typer(help="API tokens: list, issue, revoke.")
    tokens.command("ls")(tokens_ls)
    tokens.command("issue")(tokens_issue)
    tokens.command("revoke")(tokens_revoke)
    app.add_typer(tokens, name="tokens", no_args_is_help=True)
    app.command("whoami")(whoami)
