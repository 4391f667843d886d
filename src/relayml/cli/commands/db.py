"""`relay db upgrade`: migrate the embedded metadata database explicitly."""

from __future__ import annotations

import typer

from relayml.cli import output, state


def upgrade() -> None:
    """Migrate the embedded database to the newest schema and print before -> after."""
    from relayml.errors import InvalidInput

    if state.is_remote():
        raise InvalidInput(
            "relay db upgrade migrates the embedded database, but a server is configured "
            "(--server or RELAY_SERVER_URL); run it on the server host, against its database"
        )
    from relayml.services import upgrade_database

    where, before, after = upgrade_database(state.settings().database_url)
    if before == after:
        output.print_(f"{where}: already at schema {after}")
    else:
        output.print_(f"{where}: schema {before or '(empty)'} -> {after}")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The metadata database.", no_args_is_help=True)
    group.command("upgrade")(upgrade)
    app.add_typer(group, name="db")
