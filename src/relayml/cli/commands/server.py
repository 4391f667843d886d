"""`relay server`: the REST API (and later the UI) on one port."""

from __future__ import annotations

from typing import Annotated

import typer


def server(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8080,
) -> None:
    """Serve the Relay REST API under /api/v1 (OpenAPI at /docs, health at /healthz)."""
    from relayml.api.server import serve

    serve(host, port)


def register(app: typer.Typer) -> None:
    app.command("server")(server)
