"""The `storage` area's operations, `StorageApi`: each one its service
method (`op`, `client/ops.py`), bound in-process by `client.local` and sent by its route
in `client/http/storage.py`."""

from __future__ import annotations

from relayml.client.ops import op
from relayml.services.storage import StorageService


class StorageApi:
    """`services.storage`: the artifact store's housekeeping (admins only)."""

    gc = op(StorageService.gc)
