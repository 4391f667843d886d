"""`relay gc`: list, or with --apply remove, what killed processes left behind."""

from __future__ import annotations

from typing import Annotated

import typer

from relayml.cli import output, state
from relayml.domain.storage import DEFAULT_GRACE


def gc(
    apply: Annotated[
        bool,
        typer.Option("--apply/--dry-run", help="Remove what is listed, or only list it."),
    ] = False,
    grace: Annotated[
        str, typer.Option("--grace", help="Keep anything younger than this, e.g. 24h, 30m.")
    ] = DEFAULT_GRACE,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Blobs nothing refers to, unfinished uploads and orphaned scratch directories, older than
    --grace (admin; removals are audited). A dry run unless --apply."""
    from relayml.sdk.storage import collect

    with state.backend() as backend:
        report = collect(backend, apply=apply, grace=grace)
    if as_json:
        output.emit_json(report)
        return
    t = output.table("kind", "name", "size", "age", no_wrap=("name",))
    for item in report.leftovers:
        t.add_row(item.kind, item.name, f"{item.size:,}", f"{item.age_seconds / 3600:.1f} h")
    output.print_(t)
    verb = "removed" if report.applied else "would remove (dry run; --apply removes)"
    output.print_(f"{verb}: {len(report.leftovers)} items, {report.bytes:,} bytes")


def register(app: typer.Typer) -> None:
    app.command("gc")(gc)
