"""The server's own metrics for Prometheus (`service.metrics.read` in every project)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.metrics import CONTENT_TYPE, RequestMetrics
from relayml.api.responses import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["operations"], responses=ERROR_RESPONSES)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}},
    summary="The server's request metrics and the gauges of the work it holds (Prometheus)",
)
def metrics(request: Request, services: ServicesDep, who: PrincipalDep) -> Response:
    status = services.operations.status(who)
    found: RequestMetrics = request.app.state.request_metrics
    return Response(found.expose(status), media_type=CONTENT_TYPE)
