"""`relay serve`: the model server for one or more deployments (docs/serving.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from relayml.serving.options import (
    DEFAULT_LOG_QUEUE,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_WAIT_MS,
    DEFAULT_POLL_SECONDS,
    DEFAULT_PORT,
    DEFAULT_SEGMENT_RECORDS,
    DEFAULT_SEGMENT_SECONDS,
    DEFAULT_SHUTDOWN_SECONDS,
)


def serve(
    names: Annotated[list[str], typer.Argument(help="Deployments to serve (relay deploy ...).")],
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = DEFAULT_PORT,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    workers: Annotated[
        int,
        typer.Option("--workers", help="Processes answering on the port (each loads the models)."),
    ] = 1,
    poll: Annotated[
        float,
        typer.Option(
            "--poll", help="Seconds between checks for a moved alias or new traffic rules."
        ),
    ] = DEFAULT_POLL_SECONDS,
    max_batch: Annotated[
        int, typer.Option("--max-batch", help="Most rows in one micro-batched model call.")
    ] = DEFAULT_MAX_BATCH,
    max_wait_ms: Annotated[
        float,
        typer.Option(
            "--max-wait-ms",
            help="Longest a request waits for others to join its batch (never when alone).",
        ),
    ] = DEFAULT_MAX_WAIT_MS,
    max_body_bytes: Annotated[
        int, typer.Option("--max-body-bytes", help="Largest request body read (413 above).")
    ] = DEFAULT_MAX_BODY_BYTES,
    log_sample: Annotated[
        float,
        typer.Option("--log-sample", help="Fraction of requests written to the prediction log."),
    ] = 1.0,
    log_queue: Annotated[
        int,
        typer.Option(
            "--log-queue", help="Prediction-log rows held in memory before new ones are dropped."
        ),
    ] = DEFAULT_LOG_QUEUE,
    segment_records: Annotated[
        int, typer.Option("--segment-records", help="Rows per prediction-log segment, at most.")
    ] = DEFAULT_SEGMENT_RECORDS,
    segment_seconds: Annotated[
        float,
        typer.Option(
            "--segment-seconds",
            help="Seconds a segment stays open, at most (what a crash can lose).",
        ),
    ] = DEFAULT_SEGMENT_SECONDS,
    shutdown_seconds: Annotated[
        float,
        typer.Option("--shutdown-seconds", help="How long SIGTERM waits for requests in flight."),
    ] = DEFAULT_SHUTDOWN_SECONDS,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="One JSON line per request.")
    ] = True,
    project: Annotated[str | None, typer.Option("--project", "-p", help="Project.")] = None,
) -> None:
    """Serve deployments' models over HTTP: follows the registry, logs every prediction.

    POST /predict (one deployment) or /deployments/NAME/predict, the Open Inference Protocol
    v2 (/v2/models/NAME/infer), /healthz, /readyz, /metrics and /feedback. A moved alias is
    loaded, verified and swapped in without a failed request (docs/serving.md)."""
    from relayml.cli import state
    from relayml.serving.options import ServeOptions
    from relayml.serving.server import serve as run

    options = ServeOptions(
        deployments=tuple(names),
        project=state.project(project),
        host=host,
        port=port,
        workers=workers,
        poll_seconds=poll,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        max_body_bytes=max_body_bytes,
        log_sample=log_sample,
        log_queue=log_queue,
        segment_records=segment_records,
        segment_seconds=segment_seconds,
        shutdown_seconds=shutdown_seconds,
        access_log=access_log,
    )
    run(options, state.settings(), server=state.options.server, token=state.options.token)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
