"""Run artifacts: streamed uploads checked against the client's digest, verified downloads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from itertools import chain
from typing import Annotated

import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response, StreamingResponse

from relayml.api import wire
from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.errors import OrjsonResponse
from relayml.errors import IntegrityError, InvalidInput

router = APIRouter(prefix="/api/v1", tags=["artifacts"])


def _pull(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """The request body as a blocking iterator, for a worker thread: each chunk is awaited on
    the event loop as the artifact store asks for it, so the upload is never held in memory."""

    async def next_chunk() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    while (chunk := anyio.from_thread.run(next_chunk)) is not None:
        if chunk:
            yield chunk


@router.put(
    "/runs/{run_id}/artifacts/{path:path}",
    status_code=201,
    summary="Upload an artifact (the raw bytes as the body)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    },
)
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
    body = _pull(request.stream())
    try:
        info = await anyio.to_thread.run_sync(
            lambda: services.artifacts.log_artifact(who, run_id, path, body, expected_digest=digest)
        )
    except IntegrityError as exc:
        # The bytes that arrived do not match the client's own digest: a bad request (as S3's
        # BadDigest), not a fault of the server's storage.
        raise InvalidInput(exc.message, **exc.details) from None
    return OrjsonResponse(wire.artifact_out(info), status_code=201)


@router.get("/runs/{run_id}/artifacts", summary="A run's artifacts, optionally under a prefix")
def list_artifacts(
    run_id: str,
    services: ServicesDep,
    who: PrincipalDep,
    prefix: Annotated[str | None, Query()] = None,
) -> Response:
    items = services.artifacts.list_artifacts(who, run_id, prefix)
    return OrjsonResponse([wire.artifact_out(a) for a in items])


@router.get(
    "/runs/{run_id}/artifacts/{path:path}",
    summary="Download an artifact; its sha256 is in the X-Relay-Digest header",
    response_class=StreamingResponse,
)
def download_artifact(run_id: str, path: str, services: ServicesDep, who: PrincipalDep) -> Response:
    info, chunks = services.artifacts.open_artifact(who, run_id, path)
    # Read the first chunk now: a missing blob must become a 404, not a cut-off 200.
    first = next(chunks, b"")
    headers = {wire.DIGEST_HEADER: info.digest, "Content-Length": str(info.size)}
    return StreamingResponse(
        chain([first], chunks), media_type="application/octet-stream", headers=headers
    )
