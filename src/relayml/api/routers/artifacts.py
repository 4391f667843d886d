"""Run artifacts: streamed uploads checked against the client's digest, verified downloads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response, StreamingResponse

from relayml import wire
from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.bodies import Route
from relayml.api.gate import streams_body
from relayml.api.responses import BINARY_RESPONSE, ERROR_RESPONSES, json
from relayml.api.streaming import BINARY_BODY, receive, send
from relayml.wire.tracking import ArtifactOut

router = APIRouter(
    prefix="/api/v1", route_class=Route, tags=["artifacts"], responses=ERROR_RESPONSES
)


@router.put(
    "/runs/{run_id}/artifacts/{path:path}",
    status_code=201,
    response_model=ArtifactOut,
    summary="Upload an artifact (the raw bytes as the body)",
    openapi_extra=BINARY_BODY,
)
@streams_body
async def upload_artifact(
    run_id: str,
    path: str,
    request: Request,
    services: ServicesDep,
    who: PrincipalDep,
    digest: Annotated[
        str | None,
        Header(
            alias=wire.DIGEST_HEADER,
            description="sha256 of the body; a body that does not match is refused",
        ),
    ] = None,
) -> Response:
    info = await receive(
        request,
        lambda body: services.artifacts.log_artifact(
            who, run_id, path, body, expected_digest=digest
        ),
    )
    return json(ArtifactOut.from_domain(info), status_code=201)


@router.get(
    "/runs/{run_id}/artifacts",
    response_model=list[ArtifactOut],
    summary="A run's artifacts, optionally under a prefix",
)
def list_artifacts(
    run_id: str,
    services: ServicesDep,
    who: PrincipalDep,
    prefix: Annotated[str | None, Query()] = None,
) -> Response:
    items = services.artifacts.list_artifacts(who, run_id, prefix)
    return json([ArtifactOut.from_domain(a) for a in items])


@router.get(
    "/runs/{run_id}/artifacts/{path:path}",
    summary="Download an artifact; its sha256 is in the X-Relay-Digest header",
    response_class=StreamingResponse,
    responses=BINARY_RESPONSE,
)
def download_artifact(run_id: str, path: str, services: ServicesDep, who: PrincipalDep) -> Response:
    info, chunks = services.artifacts.download_artifact(who, run_id, path)
    return send(chunks, info.digest, info.size)
