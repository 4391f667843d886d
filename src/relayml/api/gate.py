"""The gate every /api/v1 request passes before any route reads its body.

1. Authentication first: the bearer token is checked (the same check as the `PrincipalDep`
   dependency, which then reuses the result) and an unauthenticated request is answered 401
   without reading a byte of its body, and the connection closed.
2. Request ids: a POST or PATCH sent with an `Idempotency-Key` is claimed for its caller before
   it runs, and its answer is kept (`services/idempotency.py`); sent again with the same key,
   it gets that answer back (`Idempotency-Replayed: true`) instead of running twice.
3. JSON bodies are capped (`RELAY_MAX_JSON_BYTES`): a declared Content-Length over the cap is
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
from relayml.domain.identity import Principal
from relayml.errors import InvalidInput, RelayError
from relayml.services import Services
from relayml.services.idempotency import KEY_HEADER, MAX_BODY, REPLAYED_HEADER

PREFIX = "/api/v1/"
_NOT_IDEMPOTENT = frozenset({"POST", "PATCH"})
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
        key = Headers(scope=scope).get(KEY_HEADER.lower())
        if key is not None and scope["method"] in _NOT_IDEMPOTENT:
            await self._once(scope, receive, send, principal, key)
            return
        await self.app(scope, self._capped(scope, receive), send)

    async def _once(
        self, scope: Scope, receive: Receive, send: Send, principal: Principal, key: str
    ) -> None:
        """Run the request at most once for (caller, key); replay the kept answer after."""
        keys = self.services.idempotency
        try:
            recorded = await anyio.to_thread.run_sync(
                keys.begin, principal, key, scope["method"], scope["path"]
            )
        except RelayError as exc:
            await error_response(exc)(scope, receive, send)
            return
        if recorded is not None:
            headers = [
                (b"content-type", recorded.content_type.encode("latin-1")),
                (b"content-length", str(len(recorded.body)).encode()),
                (REPLAYED_HEADER.lower().encode(), b"true"),
            ]
            await send(
                {"type": "http.response.start", "status": recorded.status, "headers": headers}
            )
            await send({"type": "http.response.body", "body": recorded.body})
            return
        status = 0
        content_type = "application/json"
        body = bytearray()
        held: list[Message] = []  # the answer, kept back until it is recorded
        passing = False  # too large to keep: sent as it comes, not recorded
        kept = False

        async def record() -> None:
            nonlocal kept
            kept = True
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(
                    keys.finish, principal, key, status or 500, bytes(body), content_type
                )

        async def capture(message: Message) -> None:
            # The answer is recorded before the client sees any of it, so a repeat that the
            # client sends as soon as it has the answer finds it kept, never still running.
            nonlocal status, content_type, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if len(body) > MAX_BODY:
                    passing = True
            held.append(message)
            done = message["type"] == "http.response.body" and not message.get("more_body")
            if passing or done:
                if done and not passing:
                    await record()
                for m in held:
                    await send(m)
                held.clear()

        try:
            await self.app(scope, self._capped(scope, receive), capture)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(keys.release, principal, key)
            raise
        if not kept:  # too large, or no complete answer: let a repeat run again
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(keys.release, principal, key)

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
