"""`relay demo`: the guided tour (what `make demo` runs)."""

from __future__ import annotations

from typing import Annotated

import typer

from relayml.cli import state


def demo(
    quick: Annotated[
        bool, typer.Option("--quick", help="A smaller grid of models (a few seconds).")
    ] = False,
) -> None:
    """Train and track real models, rank them, see a stakeholder refused, verify the audit."""
    from relayml.demo.story import run

    run(quick=quick, server=state.options.server, token=state.options.token)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
