"""The one duration syntax: pipeline step timeouts, contract freshness, schedules, monitors.

A duration is a positive number of seconds, written as a number (``30``, ``1.5``) or as a
number with one unit: ``250ms``, ``90s``, ``15m``, ``1.5h``, ``7d``, ``2w``. Zero, negatives,
NaN/infinity and anything over 100 years are refused with the reason.
"""

from __future__ import annotations

import math
import re

from relayml.errors import InvalidInput

UNITS: dict[str, float] = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86_400.0,
    "w": 604_800.0,
}
MAX_SECONDS = 100 * 365 * 86_400.0
"""The longest duration accepted (100 years): longer is a typo, and would overflow a timedelta."""

_TEXT = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*\Z")
_HINT = "write e.g. 90s, 15m, 1.5h, 7d, 2w or a number of seconds"


def parse_duration(value: str | float) -> float:
    """Seconds in ``value``; InvalidInput, saying what is wrong, for anything else."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(f"invalid duration {value!r}; {_HINT}")
    if isinstance(value, str):
        m = _TEXT.match(value)
        if not m:
            raise InvalidInput(f"invalid duration {value!r}; {_HINT}")
        seconds = float(m.group(1)) * UNITS[m.group(2) or "s"]
    else:
        seconds = float(value)
    if math.isnan(seconds):
        raise InvalidInput(f"invalid duration {value!r}; {_HINT}")
    if seconds <= 0:
        raise InvalidInput(f"duration {value!r} must be longer than zero; {_HINT}")
    if seconds > MAX_SECONDS:
        raise InvalidInput(f"duration {value!r} is longer than 100 years; {_HINT}")
    return seconds
