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

    cfg = state.settings()
    where, before, after = upgrade_database(
        cfg.database_url,
        audit_key_file=cfg.audit_key_path,
        audit_key=cfg.audit_key,
        audit_checkpoints=cfg.audit_checkpoint_target,
        audit_checkpoint_every=cfg.audit_checkpoint_every,
    )
    if before == after:
        output.print_(f"{where}: already at schema {after}")
    else:
        output.print_(f"{where}: schema {before or '(empty)'} -> {after}")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The metadata database.", no_args_is_help=True)
    group.command("upgrade")(upgrade)
    app.add_typer(group, name="db")
