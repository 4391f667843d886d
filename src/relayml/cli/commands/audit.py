"""`relay audit log|verify`: read the hash-chained audit trail and check it."""

from __future__ import annotations

from typing import Annotated

import typer

from relayml.cli import output, state

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def log(
    entity: Annotated[
        str | None, typer.Option("--entity", help="KIND or KIND:ID, e.g. run:3f2a... or user.")
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Who acted.")] = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            "-p",
            help="Project (default: -p, RELAY_PROJECT or relay use; none or '*': every project).",
        ),
    ] = None,
    action: Annotated[str | None, typer.Option("--action", help="e.g. run.create.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Most recent N events.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Show the most recent audit events, oldest first (model_governance and admin)."""
    kind, _, entity_id = (entity or "").partition(":")
    with state.backend() as backend:
        events = backend.audit_log(
            project=state.project_if_chosen(project),
            entity_kind=kind or None,
            entity_id=entity_id or None,
            actor=actor,
            action=action,
            limit=limit,
        )
    events.reverse()
    if as_json:
        output.emit_json(events)
        return
    t = output.table("seq", "time (UTC)", "actor", "action", "entity", "project", "outcome")
    for ev in events:
        outcome = "[green]ok[/]" if ev.outcome == "ok" else f"[red]{ev.outcome}[/]"
        t.add_row(
            str(ev.seq),
            output.when(ev.ts),
            ev.actor,
            ev.action,
            output.escape(f"{ev.entity_kind}:{ev.entity_id}"),
            ev.project,
            outcome,
        )
    output.print_(t)
    if not events:
        output.print_("[dim]no audit events match[/]")


def verify(as_json: JsonFlag = False) -> None:
    """Check the whole hash chain; exit 9 naming the first edited, deleted or reordered event."""
    from relayml.errors import IntegrityError

    with state.backend() as backend:
        result = backend.audit_verify()
    if as_json:
        output.emit_json(result)
        if not result.ok:
            raise typer.Exit(IntegrityError.exit_code)
        return
    if not result.ok:
        raise IntegrityError(
            f"the audit trail does not verify: the first bad event is #{result.first_bad_seq} "
            f"({result.reason}; the {result.checked} events before it are intact). Treat events "
            f"from #{result.first_bad_seq} on as untrustworthy and restore the database from a "
            "backup"
        )
    output.print_(f"[green]ok[/]: the audit chain is intact ({result.checked} events checked)")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The append-only, hash-chained audit trail.")
    group.command("log")(log)
    group.command("verify")(verify)
    app.add_typer(group, name="audit", no_args_is_help=True)
