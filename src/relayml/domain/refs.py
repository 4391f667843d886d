"""The one reference syntax for versioned things: ``name``, ``name@3``, ``name@alias``.

``name`` and ``name@latest`` mean the newest usable version. A version is a positive integer
(at most 2^31 - 1, the width of the stored column); an alias is a name that starts with a
letter (``champion``, ``prod-eu``). Datasets take versions only; models will take both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from relayml.domain.identity import check_name
from relayml.errors import InvalidInput

LATEST = "latest"
MAX_VERSION = 2**31 - 1
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}\Z")


@dataclass(frozen=True)
class Ref:
    """A parsed reference: at most one of ``version`` and ``alias``; neither = the latest."""

    name: str
    version: int | None = None
    alias: str | None = None

    @property
    def latest(self) -> bool:
        return self.version is None and self.alias is None

    @property
    def tail(self) -> str:
        """What follows the ``@``: ``3``, ``champion`` or ``latest`` (as in a URL)."""
        if self.version is not None:
            return str(self.version)
        return self.alias or LATEST

    def __str__(self) -> str:
        return f"{self.name}@{self.tail}"


def parse_ref(
    text: object,
    version: int | str | None = None,
    *,
    kind: str = "dataset",
    aliases: bool = False,
) -> Ref:
    """``loans``, ``loans@3``, ``loans@latest`` (or ``("loans", 3)``) as a Ref of ``kind``.

    ``aliases`` says whether ``kind`` has aliases (``churn@champion``); without, an alias is
    refused with what to write instead.
    """
    example = f"{'churn' if kind == 'model' else 'loans'}@3"
    if not isinstance(text, str) or not text:
        raise InvalidInput(
            f"invalid {kind} reference {text!r}: write 'name', 'name@version' (e.g. {example}) "
            "or 'name@latest'"
        )
    name, sep, tail = text.partition("@")
    if sep and version is not None:
        raise InvalidInput(f"{kind} reference {text!r} names a version; do not pass version= too")
    check_name(kind, name)
    raw: object = tail if sep else version
    if raw is None or raw == LATEST:
        return Ref(name)
    if isinstance(raw, int) and not isinstance(raw, bool):
        return Ref(name, _version(kind, text, raw))
    if isinstance(raw, str) and raw.isascii() and raw.isdigit():
        return Ref(name, _version(kind, text, int(raw)))
    if isinstance(raw, str) and _ALIAS.match(raw):
        if aliases:
            return Ref(name, alias=raw)
        raise InvalidInput(
            f"invalid {kind} version {raw!r} in {text!r}: {kind}s have no aliases; use a "
            f"positive integer or 'latest' (e.g. {name}@3)"
        )
    what = "version or alias" if aliases else "version"
    if raw == "":
        raise InvalidInput(
            f"{kind} reference {text!r} has nothing after '@': write e.g. {name}@3 or {name}@latest"
        )
    raise InvalidInput(
        f"invalid {kind} {what} {raw!r} in {text!r}: use a positive integer"
        f"{', an alias' if aliases else ''} or 'latest' (e.g. {example})"
    )


def _version(kind: str, text: str, number: int) -> int:
    if number < 1:
        raise InvalidInput(
            f"invalid {kind} version {number} in {text!r}: versions count from 1 (e.g. "
            f"{text.partition('@')[0]}@1)"
        )
    if number > MAX_VERSION:
        raise InvalidInput(
            f"invalid {kind} version {number} in {text!r}: versions go up to {MAX_VERSION}"
        )
    return number
