"""The `storage` area's client protocol, `StorageApi`: what both backends implement (the
services bound in-process by `client.local`, REST in `client/http/storage.py`)."""

from __future__ import annotations

from typing import Protocol

from relayml.domain.storage import DEFAULT_GRACE, GcReport


class StorageApi(Protocol):
    """`services.storage`: the artifact store's housekeeping (admins only)."""

    def gc(self, *, apply: bool = False, grace: str | float = DEFAULT_GRACE) -> GcReport: ...
