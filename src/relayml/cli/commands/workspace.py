"""`relay init`, `relay use PROJECT`, `relay status`: where the store is and which project.

The store is found the way git finds `.git` (see `relayml.config.find_home`), so these work from
any folder below the one `relay init` ran in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from relayml.cli import output, state

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def init(
    directory: Annotated[
        Path, typer.Argument(help="Folder to create the store in (default: here).")
    ] = Path("."),
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Create this project and use it.")
    ] = None,
) -> None:
    """Create an embedded store (`.relay/`) here, so commands below this folder use it."""
    import os

    from relayml.config import STORE_DIR, remember_project
    from relayml.sdk.session import connect

    if state.is_remote():
        raise typer.BadParameter(
            "relay init creates a local store; unset --server/RELAY_SERVER_URL"
        )
    home = (directory.expanduser().resolve()) / STORE_DIR
    existed = home.is_dir()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["RELAY_HOME"] = str(home)  # this command's own session opens that store
    session = connect(project=project, home=home)
    session.backend.close()
    if project:
        remember_project(home, session.project)
    verb = "Using the existing" if existed else "Created an"
    output.print_(f"{verb} embedded Relay store in [bold]{output.escape(str(home))}[/]")
    if project:
        output.print_(f"project: [bold]{output.escape(session.project)}[/]")


def use(project: Annotated[str, typer.Argument(help="The project to work in.")]) -> None:
    """Remember PROJECT for every later command run in this workspace (no --project needed)."""
    from relayml.config import remember_project
    from relayml.domain.identity import check_name
    from relayml.errors import NotFound

    name = check_name("project", project)
    with state.backend() as backend:
        known = [p.name for p in backend.identity.list_projects()]
    if name not in known:
        hint = f"; yours: {', '.join(sorted(known))}" if known else ""
        raise NotFound(
            f"no project {name!r} you can see{hint}. Create it with "
            f"`relay projects create {name}` (admins) or ask an admin for a role in it"
        )
    path = remember_project(state.settings().home, name)
    output.print_(f"now using project [bold]{output.escape(name)}[/] (saved in {path})")


def status(as_json: JsonFlag = False) -> None:
    """Where commands run: the store or server, the project, and who you are."""
    cfg = state.settings()
    server = state.options.server or cfg.server_url
    info = {
        "mode": "server" if server else "embedded",
        "server": server,
        "store": None if server else str(cfg.home),
        "store_exists": None if server else cfg.home.is_dir(),
        "project": state.project(),
        "user": None if server else cfg.user,
    }
    if as_json:
        output.emit_json(info)
        return
    if server:
        output.print_(f"server:  {output.escape(server)}")
    else:
        note = "" if info["store_exists"] else "  (not created yet: `relay init`)"
        output.print_(f"store:   {output.escape(str(cfg.home))}{note}")
        output.print_(f"user:    {output.escape(cfg.user)}")
    output.print_(f"project: {output.escape(str(info['project']))}")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("use")(use)
    app.command("status")(status)
