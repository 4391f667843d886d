"""The gate every /api/v1 request passes before any route reads its body.

1. Authentication first: the bearer token is checked (the same check as the `PrincipalDep`
   dependency, which then reuses the result) and an unauthenticated request is answered 401
   without reading a byte of its body, and the connection closed.
2. JSON bodies are capped (`RELAY_MAX_JSON_BYTES`): a declared Content-Length over the cap is
   refused before reading, and a body without one (or with a false one) as soon as the bytes
   received pass it. Routes marked `@streams_body` (uploads) are not capped: they stream to the
   artifact store and never hold the body in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relayml.api.auth import PRINCIPAL_STATE, principal_from_header
from relayml.api.bodies import BadInput, check_url
from relayml.api.errors import error_response
from relayml.errors import InvalidInput, RelayError
from relayml.services import Services

PREFIX = "/api/v1/"
F = TypeVar("F", bound=Callable[..., Any])


def streams_body(endpoint: F) -> F:
    """Mark a route whose body is streamed to storage (not capped as JSON)."""
    endpoint.relay_streams_body = True  # type: ignore[attr-defined]
    return endpoint


class BodyTooLarge(HTTPException):
    """Raised while the body is read, so FastAPI hands it to the error handler (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"the request body is larger than {limit:,} bytes, the server's limit for JSON "
            "(RELAY_MAX_JSON_BYTES); send fewer items per request",
        )


class Gate:
    def __init__(self, app: ASGIApp, services: Services, max_json_bytes: int) -> None:
        self.app = app
        self.services = services
        self.max_json_bytes = max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization")
        try:
            principal = await anyio.to_thread.run_sync(principal_from_header, self.services, header)
            check_url(scope["path"], scope.get("query_string", b""))
        except BadInput as exc:
            await error_response(InvalidInput(str(exc.detail)))(scope, receive, send)
            return
        except RelayError as exc:
            # Answer now and close: the body is never read (nor drained for keep-alive).
            headers = {"Connection": "close"}
            if exc.http_status == 401:
                headers["WWW-Authenticate"] = "Bearer"
            await error_response(exc, headers)(scope, receive, send)
            return
        scope.setdefault("state", {})[PRINCIPAL_STATE] = principal
        await self.app(scope, self._capped(scope, receive), send)

    def _capped(self, scope: Scope, receive: Receive) -> Receive:
        limit = self.max_json_bytes
        received = 0
        route_known = streamed = False

        async def capped_receive() -> Message:
            nonlocal received, route_known, streamed
            if not route_known:  # routing is done by the first read: uploads stream uncapped
                route_known = True
                streamed = bool(getattr(scope.get("endpoint"), "relay_streams_body", False))
                declared = Headers(scope=scope).get("content-length", "")
                if not streamed and declared.isdigit() and int(declared) > limit:
                    raise BodyTooLarge(limit)
            message = await receive()
            if not streamed and message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        return capped_receive
