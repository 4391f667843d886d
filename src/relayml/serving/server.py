"""Running the model server: `relay serve` calls `serve`.

One process (the default) loads every deployment before it listens, so a name that does not
exist or a model that does not verify stops `relay serve` with the reason and a non-zero exit.
``--workers N`` starts N processes on the same port (uvicorn's supervisor), each loading and
following the deployments itself, each with its own prediction-log segments (its server id is
in their names). SIGTERM or Ctrl-C: stop accepting, answer the requests in flight (up to
``--shutdown-seconds``), write the prediction log, exit 0.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any

from relayml.config import Settings
from relayml.errors import InvalidInput
from relayml.serving.options import ServeOptions

_OPTIONS_ENV = "RELAY_SERVE_OPTIONS"
log = logging.getLogger("relayml.serving")


class JsonLines(logging.Formatter):
    """The server's own log lines as JSON, like its access log."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": record.created,
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return json.dumps(doc)


def _logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger("relayml")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def _uvicorn_config(app: Any, options: ServeOptions, **extra: Any) -> dict[str, Any]:
    return {
        "app": app,
        "host": options.host,
        "port": options.port,
        "lifespan": "on",
        "access_log": False,
        "log_level": "warning",
        "timeout_graceful_shutdown": options.shutdown_seconds,
        "server_header": False,
        **extra,
    }


def _build(options: ServeOptions, settings: Settings, server: str | None, token: str | None) -> Any:
    from relayml.client.connect import open_backend
    from relayml.scratch import make_scratch
    from relayml.serving.app import ModelServer

    backend = open_backend(settings, server, token)
    try:
        return ModelServer(options, backend, make_scratch("serve"), owns_backend=True)
    except BaseException:
        backend.close()
        raise


def serve(
    options: ServeOptions,
    settings: Settings | None = None,
    *,
    server: str | None = None,
    token: str | None = None,
) -> None:
    """Serve ``options.deployments`` until SIGTERM or Ctrl-C."""
    import uvicorn

    cfg = settings or Settings.from_env()
    _logging()
    if options.workers > 1:
        _serve_workers(options, cfg, server, token)
        return
    app = _build(options, cfg, server, token)
    try:
        started = time.monotonic()
        app.preload()
        log.info(
            "serving %s on http://%s:%d (loaded in %.1f s)",
            ", ".join(options.deployments),
            options.host,
            options.port,
            time.monotonic() - started,
        )
        uv = uvicorn.Server(uvicorn.Config(**_uvicorn_config(app, options)))
        with _graceful_signals():
            uv.run()
        if not uv.started:
            raise InvalidInput(
                f"the model server could not listen on {options.host}:{options.port}; is the "
                "port in use? (choose another with --port)"
            )
    finally:
        app.close_now()


@contextlib.contextmanager
def _graceful_signals() -> Iterator[None]:
    """uvicorn handles SIGTERM and SIGINT as a graceful shutdown, then raises the signal
    again under the handlers it found: a no-op here, so a graceful stop exits 0."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, _ignore)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _ignore(signum: int, frame: object) -> None:
    return None


def _serve_workers(
    options: ServeOptions, cfg: Settings, server: str | None, token: str | None
) -> None:
    import uvicorn

    from relayml.client.connect import open_backend
    from relayml.scratch import make_scratch
    from relayml.serving.metrics import MULTIPROC_ENV

    backend = open_backend(cfg, server, token)
    try:  # fail fast, in the parent, on a deployment that does not exist
        for name in options.deployments:
            backend.deployments.resolve(options.project, name)
    finally:
        backend.close()
    doc = dataclasses.asdict(options)
    os.environ[_OPTIONS_ENV] = json.dumps(doc)
    # the workers' metrics meet in one folder, so a scrape of any worker counts them all
    metrics_dir = make_scratch("serve-metrics")
    os.environ[MULTIPROC_ENV] = str(metrics_dir)
    if server:
        os.environ["RELAY_SERVER_URL"] = server
    if token:
        os.environ["RELAY_TOKEN"] = token
    log.info(
        "serving %s on http://%s:%d with %d workers",
        ", ".join(options.deployments),
        options.host,
        options.port,
        options.workers,
    )
    try:
        uvicorn.run(
            **_uvicorn_config(
                "relayml.serving.server:worker_app", options, factory=True, workers=options.workers
            )
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def worker_app() -> Any:
    """One worker's application (``--workers N``), built from what the parent passed on."""
    _logging()
    raw = json.loads(os.environ[_OPTIONS_ENV])
    raw["deployments"] = tuple(raw["deployments"])
    options = ServeOptions(**raw)
    return _build(options, Settings.from_env(), None, None)
