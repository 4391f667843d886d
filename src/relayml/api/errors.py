"""The API's one error edge: every failure becomes `{"error": {code, message, details}}`.

A `RelayError` keeps its own status; a body that fails validation is `Unprocessable` (422) with
the offending fields spelled out; an unknown route or method keeps its 404/405; anything else is
a 500 that names the failure without leaking a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relayml.errors import NotFound, RelayError, Unprocessable

log = logging.getLogger("relayml.api")


class OrjsonResponse(JSONResponse):
    """JSON rendered by orjson: run pages and metric histories can be large. (A JSONResponse,
    so OpenAPI documents each route's `response_model` as the JSON body.)"""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(err: RelayError, headers: dict[str, str] | None = None) -> OrjsonResponse:
    return OrjsonResponse({"error": err.to_dict()}, status_code=err.http_status, headers=headers)


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "body"


def validation_error(exc: RequestValidationError) -> Unprocessable:
    problems = []
    for e in exc.errors():
        problem = f"{_where(tuple(e.get('loc', ())))}: {e.get('msg', 'invalid')}"
        if "input" in e and e.get("type") != "missing":
            problem += f" (got {e['input']!r:.80})"
        problems.append(problem)
    return Unprocessable(
        "the request does not match the API schema: "
        + "; ".join(problems)
        + ". See /docs for the expected shape.",
        problems=problems,
    )


async def _relay_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RelayError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
    return error_response(exc, headers)


async def _invalid_request(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(validation_error(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 (no such route) and 405 (method not allowed), in our error shape."""
    assert isinstance(exc, HTTPException)
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404 and _wants_page(request):
        from relayml.ui.web import error_page

        return error_page(
            request, NotFound("there is no page at this address; start again from the home page")
        )
    if exc.status_code == 404:
        code, message = "not_found", f"no route {where}; see /docs for the API's routes"
    elif exc.status_code == 405:
        code, message = "method_not_allowed", f"{where}: method not allowed; see /docs"
    elif exc.status_code == 400:
        code, message = "invalid_input", str(exc.detail)
    elif exc.status_code == 422:
        code, message = "unprocessable", str(exc.detail)
    elif exc.status_code == 413:
        code, message = "too_large", f"{where}: {exc.detail}"
    else:
        code, message = "http_error", f"{where}: {exc.detail}"
    body = {"error": {"code": code, "message": message, "details": {}}}
    return OrjsonResponse(body, status_code=exc.status_code, headers=exc.headers)


def _wants_page(request: Request) -> bool:
    """A browser asking for a page outside the API (it gets the UI's error page, not JSON)."""
    path = request.url.path
    if path.startswith(("/api/", "/docs", "/redoc", "/openapi")):
        return False
    return "text/html" in request.headers.get("accept", "")


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    err = RelayError(
        f"internal error on {request.method} {request.url.path}: {type(exc).__name__}: {exc}; "
        "the server log has the traceback"
    )
    return error_response(err)


class _Unexpected:
    """Any other exception becomes the 500 above, answered here rather than by Starlette's
    outermost middleware, which re-raises it after answering: the server would then drop the
    keep-alive connection under a client that is about to reuse it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:  # half a response is out: only closing the connection can tell
                raise
            response = await _unexpected(Request(scope), exc)
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RelayError, _relay_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_middleware(_Unexpected)
