"""The one way user text becomes a member of a closed vocabulary (roles, statuses, actions...)."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from relayml.errors import InvalidInput

E = TypeVar("E", bound=StrEnum)


def choices(enum: type[StrEnum]) -> str:
    """The valid values, as an error message lists them."""
    return ", ".join(member.value for member in enum)


def parse_enum(enum: type[E], what: str, value: object) -> E:
    """``value`` as a member of ``enum``; InvalidInput naming ``what`` and every valid value."""
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    raise InvalidInput(f"unknown {what} {value!r}; use one of: {choices(enum)}")
