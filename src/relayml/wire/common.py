"""What every area's wire models share: the base model, the number rule, the error body.

Models here describe the JSON the REST API writes (FastAPI's `response_model`, so OpenAPI
documents it) and are built from domain objects with `from_domain`. Times travel as ISO 8601
strings; a float JSON cannot carry travels as "NaN", "Infinity" or "-Infinity"
(`relayml.domain.numbers`, the one rule).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from relayml.domain.numbers import NonFinite

Number = float | NonFinite
"""A float on the wire: a JSON number, or one of the strings for NaN and ±infinity
(`encode_float` writes it, `decode_float` reads it back)."""

Time = str
"""An ISO 8601 timestamp with its UTC offset."""


def time_out(value: datetime) -> Time:
    return value.isoformat()


def time_in(value: Time) -> datetime:
    return datetime.fromisoformat(value)


def maybe_time_out(value: datetime | None) -> Time | None:
    return value.isoformat() if value else None


def maybe_time_in(value: Time | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(WireModel):
    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["no run 'r-1'; list runs with relay runs ls"])
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(WireModel):
    """Every failed request's body: `{"error": {code, message, details}}`."""

    error: ErrorDetail


class Stored(WireModel):
    """A blob stored by digest (an artifact-store upload)."""

    digest: str
    size: int


class HealthOut(WireModel):
    """`/healthz`: the server answers, at this database schema revision."""

    status: str = Field(examples=["ok"])
    schema_revision: str | None
