"""Bytes in and out of the API without holding them in memory: uploads are pulled chunk by
chunk into a worker thread that stores them, downloads stream from a verified blob."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from itertools import chain
from typing import Any, TypeVar

import anyio.from_thread
import anyio.to_thread
from fastapi import Request
from starlette.responses import StreamingResponse

from relayml import wire
from relayml.errors import IntegrityError, InvalidInput

T = TypeVar("T")

BINARY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string"}}},
    }
}
"""`openapi_extra` of a route whose body is raw bytes."""


def _pull(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """The request body as a blocking iterator, for a worker thread: each chunk is awaited on
    the event loop as the store asks for it, so the upload is never held in memory."""

    async def next_chunk() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    while (chunk := anyio.from_thread.run(next_chunk)) is not None:
        if chunk:
            yield chunk


async def receive(request: Request, store: Callable[[Iterator[bytes]], T]) -> T:
    """Run `store(body_chunks)` in a worker thread."""
    body = _pull(request.stream())
    try:
        return await anyio.to_thread.run_sync(lambda: store(body))
    except IntegrityError as exc:
        # The bytes that arrived do not match the client's own digest: a bad request (as S3's
        # BadDigest), not a fault of the server's storage.
        raise InvalidInput(exc.message, **exc.details) from None


def send(chunks: Iterator[bytes], digest: str, size: int | None = None) -> StreamingResponse:
    """Stream a verified blob, its sha256 in the digest header."""
    # Read the first chunk now: a missing blob must become an error, not a cut-off 200.
    first = next(chunks, b"")
    headers = {wire.DIGEST_HEADER: digest}
    if size is not None:
        headers["Content-Length"] = str(size)
    return StreamingResponse(
        chain([first], chunks), media_type="application/octet-stream", headers=headers
    )
