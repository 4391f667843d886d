"""The REST API: one FastAPI app over one `Services`, REST under /api/v1/.

Routes are plain `def` functions: the services are synchronous (SQLAlchemy), so FastAPI runs
them in its thread pool. Permission checks and audit happen in the services, not here.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from starlette.responses import Response

from relayml.api import errors
from relayml.api.errors import OrjsonResponse, error_response
from relayml.api.gate import Gate
from relayml.api.metrics import MetricsMiddleware, RequestMetrics
from relayml.api.responses import json
from relayml.api.routers import (
    artifacts,
    audit,
    datasets,
    deployments,
    identity,
    loops,
    models,
    monitors,
    notifications,
    operations,
    pipelines,
    roles,
    storage,
    tracking,
)
from relayml.config import DEFAULT_MAX_JSON_BYTES
from relayml.errors import RelayError
from relayml.services import Services
from relayml.services.dispatcher import Dispatcher
from relayml.ui import routes as ui_routes
from relayml.version import __version__
from relayml.wire.common import ErrorBody, HealthOut


def create_app(services: Services, max_json_bytes: int = DEFAULT_MAX_JSON_BYTES) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Webhook deliveries are sent by background threads for as long as the app serves.
        dispatcher = Dispatcher(services.notifications).start()
        try:
            yield
        finally:
            # An attempt under way finishes and records itself; SIGKILL leaves its lease to
            # run out, and another dispatcher makes the next attempt.
            await anyio.to_thread.run_sync(dispatcher.stop)
        # uvicorn re-raises SIGTERM once it has shut down, so this is the last word we get.
        await anyio.to_thread.run_sync(services.flush_denials)

    app = FastAPI(
        lifespan=lifespan,
        title="Relay",
        version=__version__,
        description="Relay's REST API. Every route but /healthz needs "
        "`Authorization: Bearer <token>`.",
        default_response_class=OrjsonResponse,
    )
    app.state.services = services
    # The gate first, so errors' own middleware (added after, so outside it) answers anything
    # unexpected the gate raises too.
    app.add_middleware(Gate, services=services, max_json_bytes=max_json_bytes)
    errors.install(app)
    # Outermost: every answer is counted, the gate's and the error handlers' included.
    app.state.request_metrics = RequestMetrics()
    app.add_middleware(MetricsMiddleware, metrics=app.state.request_metrics)
    for area in (
        identity,
        tracking,
        artifacts,
        audit,
        storage,
        datasets,
        pipelines,
        notifications,
        models,
        deployments,
        roles,
        loops,
        monitors,
        operations,
    ):
        app.include_router(area.router)

    # The web UI at / (its routes are plain Starlette routes: not in the OpenAPI document).
    app.router.routes.extend(ui_routes(lambda request: request.app.state.services))

    @app.get(
        "/healthz",
        tags=["health"],
        response_model=HealthOut,
        responses={500: {"model": ErrorBody, "description": "The database does not answer"}},
        summary="Liveness and the database schema revision",
    )
    def healthz() -> Response:
        try:
            revision = services.schema_revision()
        except RelayError as exc:
            return error_response(exc)
        return json(HealthOut(status="ok", schema_revision=revision))

    if os.environ.get("RELAY_TEST_FAULT_ROUTE") == "1":
        # Test servers only: a route that fails as a bug would, to test clients against 500s.
        @app.get("/api/v1/_fault", include_in_schema=False)
        def fault() -> Response:
            raise RuntimeError("a fault the test asked for")

    return app
