"""`relay`: the command line. Thin: each command calls the Backend and renders what it returns.

Errors are translated once, here: a `RelayError` becomes one line on stderr and its exit code;
RELAY_DEBUG=1 shows the traceback instead. Anything else is a bug: its traceback, a line asking
for a report, and exit code 70, never 1, which the CI gates use for "the check failed".
Each command's module is imported only when that command runs (`LazyGroup`), and command modules
import heavy libraries inside their functions, so a command loads only what it uses.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
import traceback
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from relayml.cli import state
from relayml.errors import RelayError

# Every top-level command: the module under relayml/cli/commands that registers it, and its help
# line for `relay --help`, in the order `relay --help` lists them. A command's module is imported
# only when the command runs (or shows its own help), so `relay runs ls` loads neither the
# pipelines nor the datasets code. tests/cli/test_lazy.py checks this table against what each
# module registers.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": (
        "workspace",
        "Create an embedded store (`.relay/`) here, so commands below this folder use it.",
    ),
    "use": (
        "workspace",
        "Remember PROJECT for every later command run in this workspace (no --project needed).",
    ),
    "status": (
        "workspace",
        "Where commands run: the store or server, the project, and who you are.",
    ),
    "whoami": ("identity", "Who the CLI acts as, and their roles per project."),
    "gc": (
        "storage",
        "Blobs nothing refers to, unfinished uploads and orphaned scratch directories, older "
        "than --grace (admin; removals are audited).",
    ),
    "server": (
        "server",
        "Serve the Relay REST API under /api/v1 (OpenAPI at /docs, health at /healthz).",
    ),
    "serve": (
        "serving",
        "Serve deployments' models over HTTP: follows the registry, logs every prediction.",
    ),
    "demo": (
        "demo",
        "Train and track real models, rank them, see a stakeholder refused, verify the audit.",
    ),
    "drift": (
        "drift",
        "Compare CUR with REF column by column and say which columns drifted, and why.",
    ),
    "scheduler": (
        "pipelines",
        "Run scheduled pipelines when their cron slot comes, and watching ones on new data.",
    ),
    "db": ("db", "The metadata database."),
    "projects": ("identity", "Projects: the scope of runs, models and role grants."),
    "users": ("identity", "Users, their API tokens and role grants (admins)."),
    "roles": (
        "roles",
        "Roles: what each may do, custom roles and changes to the built-in ones (admins).",
    ),
    "tokens": ("identity", "API tokens: list, issue, revoke."),
    "audit": ("audit", "The append-only, hash-chained audit trail."),
    "experiments": ("tracking", "Experiments: named groups of runs in a project."),
    "runs": ("tracking", "Runs: params, metric histories, tags and artifacts."),
    "artifacts": ("artifacts", "Files logged by runs: content-addressed and verified on read."),
    "contracts": (
        "contracts",
        "Data contracts: validate data against one (exit code for CI), infer a starting one.",
    ),
    "datasets": ("datasets", "Versioned datasets: publish, validate, profile, lineage."),
    "pipelines": ("pipelines", "Pipelines: steps as a DAG, cached, retried, scheduled."),
    "webhooks": ("webhooks", "Webhooks: a project's events, signed, to URLs you choose."),
    "models": ("models", "The model registry: versions, aliases, promotion, evaluation."),
    "score": (
        "scoring",
        "Score a Parquet or CSV table of any size with a registry model (here or on Ray).",
    ),
    "requests": ("requests", "Promotion requests: review them (approve, reject, comment)."),
    "policy": ("requests", "The project's promotion policy, as code."),
    "requirements": ("requests", "Stakeholders' metric bounds on a model."),
    "inbox": (
        "requests",
        "What awaits your roles: promotion requests to review, quarantined datasets, alerts.",
    ),
    "deploy": (
        "deployments",
        "Create a deployment of a model version or alias, with optional canary and shadow.",
    ),
    "deployments": (
        "deployments",
        "Deployments: what model servers serve, traffic rules, rollback, feedback.",
    ),
    "loops": (
        "loops",
        "Loops: alert -> retrain -> evaluation -> approval -> canary -> promotion.",
    ),
    "monitors": (
        "monitors",
        "Monitors: data shift, prediction drift and performance of deployments, per window.",
    ),
    "alerts": ("monitors", "Alerts of monitors: list, show, acknowledge, comment, resolve."),
}


def load_commands(module: str) -> dict[str, Any]:
    """The Click commands a command module registers, by name (importing it)."""
    mod = importlib.import_module(f"relayml.cli.commands.{module}")
    sub = typer.Typer(rich_markup_mode=None)
    mod.register(sub)
    return dict(typer.main.get_group(sub).commands)


class LazyGroup(TyperGroup):
    """`relay`'s top-level group: knows its commands by name from COMMANDS and builds one only
    when it is asked for, so each command imports only its own module."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            for name, command in load_commands(COMMANDS[cmd_name][0]).items():
                self.commands.setdefault(name, command)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # the help lines from the table: `relay --help` imports no command module
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, TyperCommand(name=name, help=text).get_short_help_str(limit))
            for name, (_, text) in COMMANDS.items()
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in COMMANDS:
            # an unknown name: Typer suggests the close ones among the commands it holds
            for name, (_, text) in COMMANDS.items():
                self.commands.setdefault(name, TyperCommand(name=name, help=text))
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=LazyGroup,
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
