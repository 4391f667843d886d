"""Text a person wrote (a reason, a note): one check for every area that stores such text."""

from __future__ import annotations

from relayml.errors import InvalidInput

MAX_REASON = 2000


def check_text(what: str, value: object, limit: int) -> str:
    """At most ``limit`` characters, no NUL, valid Unicode (a lone surrogate cannot be stored,
    so it is refused here, not by the database)."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, not {type(value).__name__}")
    if len(value) > limit:
        raise InvalidInput(f"{what} is {len(value)} characters long; the limit is {limit}")
    if "\x00" in value:
        raise InvalidInput(f"{what} contains NUL (\\x00); remove it")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(
            f"{what} is not valid Unicode (it holds a lone surrogate); send UTF-8 text"
        ) from None
    return value


def check_reason(what: str, value: object) -> str:
    """A reason others will read: required, trimmed, at most MAX_REASON characters."""
    text = check_text(what, value, MAX_REASON).strip()
    if not text:
        raise InvalidInput(f"{what} is empty; say why, for the people who will read it")
    return text
