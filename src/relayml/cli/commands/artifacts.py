"""`relay artifacts ls|get`: list a run's artifacts and download them, verified."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from relayml.cli import output, state


def ls(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="Run id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """List a run's artifacts with their sizes and sha256 digests."""
    with state.backend() as backend:
        items = backend.artifacts.list_artifacts(run_id)
    if as_json:
        output.emit_json(items)
        return
    t = output.table(
        "path", "size", "sha256", title=f"Artifacts of run {run_id}", no_wrap=("sha256",)
    )
    for a in items:
        t.add_row(output.escape(a.path), f"{a.size:,}", a.digest)
    output.print_(t)
    if not items:
        output.print_("[dim]this run has no artifacts[/]")


def get(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="Run id.")],
    path: Annotated[str, typer.Argument(help="Artifact path (a file, or a directory of them).")],
    dest: Annotated[
        Path, typer.Option("--dest", "-d", help="Directory to write into (created if missing).")
    ] = Path("."),
) -> None:
    """Download an artifact; its sha256 is verified before it is written in place."""
    from relayml.sdk.run import Run

    dest.mkdir(parents=True, exist_ok=True)
    with state.backend() as backend:
        run = Run(backend, backend.tracking.get_run(run_id))
        written = run.download_artifact(path, dest)
    output.print_(f"downloaded {output.escape(path)} -> {output.escape(str(written))} (verified)")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Files logged by runs: content-addressed and verified on read.")
    group.command("ls")(ls)
    group.command("get")(get)
    app.add_typer(group, name="artifacts", no_args_is_help=True)
