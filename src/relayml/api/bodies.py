"""What the API accepts as JSON and as text, one rule per kind, checked before a route sees it.

- Text: valid Unicode without NUL. A lone surrogate is not valid JSON to orjson (422, like any
  malformed body); a NUL (`\\u0000` in a body, `%00` in a path or query) is refused with 400
  (PostgreSQL cannot store it, and no name, key or value needs it).
- Integers: every JSON integer fits in 64 signed bits, what both databases store (422, as the
  schema refuses a field's own bounds). Narrower fields (an attempt count, a limit) are bounded
  by their own service check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from relayml.domain.tracking import INT64_MAX, INT64_MIN

_LONG_NUMBER = re.compile(rb"\d{19}")  # no shorter digit run can leave 64 bits


class BadInput(HTTPException):
    """A body or URL refused before validation: FastAPI passes an HTTPException raised while
    it reads the body on to the error handler, which renders it as `invalid_input`."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(status, message)


def check_json(body: bytes, data: Any) -> None:
    """Refuse NUL in any string or key and integers outside 64 bits; the raw bytes say
    cheaply whether the walk is needed at all."""
    if b"\\u0000" in body or _LONG_NUMBER.search(body):
        _walk(data, "body")


def _walk(value: Any, where: str) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise BadInput(f"{where}: text must not contain NUL (\\u0000); remove it")
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise BadInput(
                f"{where}: the integer {value} does not fit in 64 bits (-2**63 .. 2**63-1)", 422
            )
    elif isinstance(value, dict):
        for k, v in value.items():
            if "\x00" in k:
                raise BadInput(f"{where}: a key must not contain NUL (\\u0000); remove it")
            _walk(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk(v, f"{where}.{i}")


def check_url(path: str, query: bytes) -> None:
    if "\x00" in path or b"%00" in query or b"\x00" in query:
        raise BadInput(f"{path.replace(chr(0), '%00')}: a path or query must not contain NUL (%00)")


class _Request(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            data = orjson.loads(body)  # its JSONDecodeError becomes a 422 with the position
            check_json(body, data)
            self._json = data
        return self._json


class Route(APIRoute):
    """Every API route: JSON bodies parsed by orjson and held to the rules above."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(_Request(request.scope, request.receive))

        return strict
