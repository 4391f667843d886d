"""The `storage` area's client protocol, `StorageApi`: what both backends implement (the
services bound in-process by `client.local`, REST in `client/http/storage.py`)."""

from __future__ import annotations

from relayml.client.ops import op
from relayml.services.storage import StorageService


class StorageApi:
    """`services.storage`: the artifact store's housekeeping (admins only)."""

    gc = op(StorageService.gc)
