"""`relay audit log|verify|checkpoint|rotate-key`: read, check and anchor the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from relayml.cli import output, state
from relayml.errors import InvalidInput

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def _time(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{option} {text!r} is not a time; write ISO 8601, e.g. 2026-03-01 or 2026-03-01T12:00"
        ) from None


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
    since: Annotated[
        str | None, typer.Option("--since", help="At or after this time (ISO 8601, UTC).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Before this time (ISO 8601, UTC).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the most recent audit events, oldest first (model_governance and admin)."""
    kind, _, entity_id = (entity or "").partition(":")
    with state.backend() as backend:
        events = backend.audit.log(
            project=state.project_if_chosen(project),
            entity_kind=kind or None,
            entity_id=entity_id or None,
            actor=actor,
            action=action,
            limit=limit,
            since=_time(since, "--since"),
            until=_time(until, "--until"),
        )
    events.reverse()
    if as_json:
        output.emit_json(events)
        return
    t = output.table("seq", "time (UTC)", "actor", "action", "entity", "project", "outcome")
    for ev in events:
        outcome = "[green]ok[/]" if ev.outcome == "ok" else f"[red]{ev.outcome}[/]"
        if ev.count != 1:
            outcome += f" x{ev.count}"
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


def verify(
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            help="Ask as this project's governance (audit.read there is enough): the whole "
            "chain is still checked, and no event shown. Default: as a platform reader ('*').",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check the whole hash chain; exit 9 naming the first edited, deleted or reordered event."""
    from relayml.errors import IntegrityError

    with state.backend() as backend:
        result = backend.audit.verify(project)
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
    cps = f", {result.checkpoints} checkpoints" if result.checkpoints else ""
    output.print_(f"[green]ok[/]: the audit chain is intact ({result.checked} events checked{cps})")


def checkpoint(as_json: JsonFlag = False) -> None:
    """Export a MACed checkpoint of the chain's head now (admin); Relay also does so every
    RELAY_AUDIT_CHECKPOINT_EVERY events."""
    with state.backend() as backend:
        cp = backend.audit.checkpoint()
    if as_json:
        import json

        output.emit_json(json.loads(cp.to_json()))
        return
    output.print_(f"checkpoint of event #{cp.seq} ({cp.hash[:12]}...) exported, key {cp.key_id}")


def rotate_key() -> None:
    """Start signing with a new audit key; the old keys stay in the key file to verify what
    they signed. Run it where the key lives (the server host, or here in embedded mode)."""
    from relayml.errors import InvalidInput
    from relayml.services import rotate_audit_key as rotate

    if state.is_remote():
        raise InvalidInput(
            "relay audit rotate-key changes the key file of this machine, but a server is "
            "configured (--server or RELAY_SERVER_URL); run it on the server host"
        )
    cfg = state.settings()
    if cfg.audit_key:
        raise InvalidInput(
            "RELAY_AUDIT_KEY is set, so it signs and the key file does not; to rotate, append "
            f"the current key to {cfg.audit_key_path} as 'KEY_ID HEX' and set a new "
            "RELAY_AUDIT_KEY (docs/governance.md)"
        )
    key_id = rotate(cfg.audit_key_path)
    output.print_(f"new audit key {key_id} in {cfg.audit_key_path}; the old keys still verify")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The append-only, hash-chained audit trail.")
    group.command("log")(log)
    group.command("verify")(verify)
    group.command("checkpoint")(checkpoint)
    group.command("rotate-key")(rotate_key)
    app.add_typer(group, name="audit", no_args_is_help=True)
