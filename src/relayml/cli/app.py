"""`relay`: the command line. Thin: each command calls the Backend and renders what it returns.

Errors are translated once, here: a `RelayError` becomes one line on stderr and its exit code;
RELAY_DEBUG=1 shows the traceback instead. Anything else is a bug: its traceback, a line asking
for a report, and exit code 70, never 1, which the CI gates use for "the check failed".
Command modules import heavy libraries inside their functions, so `relay --help` stays fast.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from typing import Annotated

import typer

from relayml.cli import state
from relayml.cli.commands import (
    artifacts,
    audit,
    contracts,
    datasets,
    db,
    demo,
    drift,
    identity,
    pipelines,
    server,
    storage,
    tracking,
    webhooks,
    workspace,
)
from relayml.errors import RelayError

app = typer.Typer(
    name="relay",
    help="Relay: an MLOps platform organised around the people of the ML lifecycle.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _global_options(
    server_url: Annotated[
        str | None,
        typer.Option(
            "--server",
            help="Relay server URL (default: $RELAY_SERVER_URL; embedded when unset).",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", help="API token (default: $RELAY_TOKEN).", show_default=False),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            "-p",
            envvar="RELAY_PROJECT",
            help="Default project for commands that take one (default: 'default').",
            show_default=False,
        ),
    ] = None,
) -> None:
    state.options = state.Options(server=server_url, token=token, project=project)
    # Commands that go through the SDK (drift and contracts on dataset references) read these.
    for var, value in (
        ("RELAY_SERVER_URL", server_url),
        ("RELAY_TOKEN", token),
        ("RELAY_PROJECT", project),
    ):
        if value:
            os.environ[var] = value


for _module in (workspace, db, identity, audit, tracking, artifacts, storage, server, demo, drift):
    _module.register(app)
contracts.register(app)
datasets.register(app)
pipelines.register(app)
webhooks.register(app)


def _report(exc: RelayError) -> None:
    prefix = "error:"
    if sys.stderr.isatty() and not os.environ.get("NO_COLOR"):
        prefix = "\x1b[1;31merror:\x1b[0m"
    sys.stderr.write(f"{prefix} {exc.message}\n")
    sys.stderr.flush()


def _exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C does (SystemExit, exit 143), so `with` blocks run: scratch
    directories are removed and open runs end."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `relay` console script."""
    command = typer.main.get_command(app)
    _exit_on_sigterm()
    try:
        command.main(args=argv, prog_name="relay", standalone_mode=True)
    except RelayError as exc:
        if os.environ.get("RELAY_DEBUG", "") not in ("", "0"):
            traceback.print_exc()
        _report(exc)
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug in Relay, not the user's input
        traceback.print_exc()
        _report(
            RelayError(
                f"internal error ({type(exc).__name__}); please report it with the traceback above"
            )
        )
        sys.exit(RelayError.exit_code)


if __name__ == "__main__":
    main()
