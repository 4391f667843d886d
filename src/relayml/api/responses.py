"""Responses of the REST API: every body is a `relayml.wire` model, declared on its route.

Routes declare `response_model=` so OpenAPI describes each body, then return `json(...)`, the
model rendered once by pydantic (FastAPI does not validate a returned `Response` again). Every
router documents the error statuses with the one error body the API writes (`api/errors.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.responses import Response

from relayml.wire.common import ErrorBody

_ERRORS = {
    400: "Invalid input: a value was refused, the message says which and why",
    401: "No valid token (send Authorization: Bearer <token>)",
    403: "The caller's roles do not allow this action",
    404: "No such project, run, dataset, pipeline or route",
    409: "Conflict with the current state (exists already, run ended, ...)",
    413: "The request body is too large",
    422: "The request does not match the API schema",
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _ERRORS.items()
}
"""`responses=` of every router: each error status with its body model."""

BINARY_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The raw bytes; their sha256 is in the X-Relay-Digest header",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
"""`responses=` of a route that streams a blob."""


def json(
    body: BaseModel | Sequence[BaseModel] | dict[str, Any], status_code: int = 200
) -> Response:
    """`body` as JSON, rendered by its wire model."""
    if isinstance(body, BaseModel):
        content = body.model_dump_json().encode()
    elif isinstance(body, dict):
        content = orjson.dumps(body)
    else:
        content = b"[" + b",".join(m.model_dump_json().encode() for m in body) + b"]"
    return Response(content, status_code=status_code, media_type="application/json")
