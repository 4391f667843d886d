"""The custom checks this installation may run on published data: its allow-list.

The server never imports code because a contract names it. A check a published dataset's
contract may run must be *installed* — declared by an installed package under the entry-point
group `relayml_checks`, or listed by the operator in `RELAY_TRUSTED_CHECKS` (comma-separated
`package.module:function`) — and *trusted* in the project by an admin
(`relay contracts trust REF`, audited). Reading this list imports nothing.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from relayml.errors import InvalidInput

GROUP = "relayml_checks"
ENV = "RELAY_TRUSTED_CHECKS"
_REF = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*\Z")


def check_ref(ref: str) -> str:
    """A custom check's reference, `package.module:function`, or a clear error."""
    if not isinstance(ref, str) or len(ref) > 250 or not _REF.match(ref):
        raise InvalidInput(
            f"a custom check is named 'package.module:function' (at most 250 characters), "
            f"got {str(ref)[:80]!r}"
        )
    return ref


def installed_checks() -> dict[str, str]:
    """Every check this installation may run: `module:function` -> where it is declared."""
    return dict(_installed(os.environ.get(ENV, "")))


@lru_cache(maxsize=4)
def _installed(env: str) -> tuple[tuple[str, str], ...]:
    from importlib.metadata import entry_points

    found: dict[str, str] = {}
    for ep in entry_points(group=GROUP):
        dist = ep.dist.name if ep.dist is not None else "?"
        if _REF.match(ep.value):
            found.setdefault(ep.value, f"entry point {ep.name} of {dist}")
    for item in env.split(","):
        ref = item.strip()
        if ref and _REF.match(ref):
            found.setdefault(ref, ENV)
    return tuple(sorted(found.items()))
