"""Chapters 3 and 4: the admin adds a stakeholder, who may read but not run; governance checks
the audit trail."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from relayml.client.base import Backend
from relayml.demo.experiments import EXPERIMENT, leaderboard_filter
from relayml.errors import Conflict, IntegrityError, PermissionDenied

STAKEHOLDER = "sam"
PROJECT = "demo"


def stakeholder_token(console: Console, admin: Backend) -> str:
    """Create the stakeholder, or on a re-run give them a new token (and the role, again)."""
    try:
        issued = admin.identity.create_user(STAKEHOLDER, ["stakeholder"], PROJECT)
        console.print(
            f"The admin ([bold]{admin.user}[/]) creates [bold]{STAKEHOLDER}[/], a stakeholder "
            f"in project {PROJECT!r}, with an API token (shown once, stored hashed)."
        )
    except Conflict:
        admin.identity.grant(STAKEHOLDER, "stakeholder", PROJECT)
        issued = admin.identity.issue_token(STAKEHOLDER)
        console.print(
            f"[bold]{STAKEHOLDER}[/] already exists from an earlier demo; the admin "
            f"([bold]{admin.user}[/]) issues a fresh token instead."
        )
    return issued.token


def user_token(admin: Backend, name: str, roles: list[str]) -> str:
    """A token for `name` holding `roles` in the demo's project: a new user, or on a re-run the
    same user with the roles granted again and a fresh token."""
    try:
        return admin.identity.create_user(name, roles, PROJECT).token
    except Conflict:
        for role in roles:
            admin.identity.grant(name, role, PROJECT)
        return admin.identity.issue_token(name).token


def stakeholder_reads_but_cannot_run(
    console: Console, token: str, batch: str, server: str | None = None
) -> str:
    """Act as the stakeholder: the leaderboard is readable, starting a run is refused."""
    from relayml.sdk.session import connect

    session = connect(project=PROJECT, server=server, token=token)
    try:
        backend = session.backend
        console.print(f"\nActing as [bold]{backend.user}[/] with that token:")
        page = backend.tracking.search_runs(
            project=PROJECT,
            experiments=[EXPERIMENT],
            filter=leaderboard_filter(batch),
            order_by=["metrics.roc_auc DESC"],
            limit=3,
        )
        for rank, r in enumerate(page.runs, start=1):
            console.print(
                f"  [green]✓ can read[/]  #{rank} {r.name}  roc_auc {r.metrics['roc_auc']:.4f}"
            )
        try:
            backend.tracking.create_run(
                project=PROJECT, experiment=EXPERIMENT, name="sam-tries-a-run"
            )
        except PermissionDenied as exc:
            console.print("  [red]✗ refused[/]   starting a run:")
            console.print(Panel(exc.message, border_style="red", title="PermissionDenied (exit 4)"))
            return exc.message
        raise IntegrityError(
            f"the demo expected {STAKEHOLDER} (a stakeholder) to be refused starting a run, "
            "but it was allowed; the permission table in domain/roles.py has changed"
        )
    finally:
        session.backend.close()


def show_audit(console: Console, admin: Backend) -> int:
    """The last few audit events of the project, and the whole chain verified."""
    events = admin.audit.log(project=PROJECT, limit=6)
    table = Table(title=f"Audit trail of {PROJECT!r}: the latest events", title_justify="left")
    for col in ("seq", "actor", "action", "entity", "outcome", "hash"):
        table.add_column(col)
    for ev in reversed(events):
        outcome = "[green]ok[/]" if ev.outcome == "ok" else f"[bold red]{ev.outcome}[/]"
        entity = f"{ev.entity_kind}:{ev.entity_id[:12]}"
        table.add_row(str(ev.seq), ev.actor, ev.action, entity, outcome, ev.hash[:12] + "…")
    console.print(table)
    console.print("[dim]Each event carries the hash of the one before it; denied attempts too.[/]")
    result = admin.audit.verify()
    if not result.ok:
        raise IntegrityError(
            f"the audit trail does not verify: first bad event #{result.first_bad_seq} "
            f"({result.reason})"
        )
    console.print(
        f"[bold green]audit_verify(): intact[/] — {result.checked} events checked, "
        "every link and hash recomputed."
    )
    return result.checked
