"""The one rule for non-finite numbers in JSON, everywhere Relay writes it (REST, ``--json``,
reports, stored summaries): JSON has no NaN or infinity, so they travel as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` (what JavaScript's and Python's own parsers call them);
every finite number stays a number."""

from __future__ import annotations

import math
from typing import Any, Literal

NonFinite = Literal["NaN", "Infinity", "-Infinity"]
NON_FINITE: tuple[NonFinite, ...] = ("NaN", "Infinity", "-Infinity")


def encode_float(value: float) -> float | NonFinite:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def decode_float(value: float | int | str | None) -> float:
    """A number as written by ``encode_float`` (``None``, from older writers, is NaN)."""
    if value is None:
        return math.nan
    return float(value)


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float (in dicts, lists and tuples) encoded as a string."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else encode_float(obj)
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj
