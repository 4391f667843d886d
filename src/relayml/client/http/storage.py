"""`StorageApi` over REST: the artifact store's housekeeping."""

from __future__ import annotations

from relayml.client.http.transport import HttpTransport
from relayml.client.http.urls import API
from relayml.domain.storage import DEFAULT_GRACE, GcReport
from relayml.wire.storage import GcReportOut


class HttpStorage:
    def __init__(self, transport: HttpTransport) -> None:
        self.t = transport

    def gc(self, *, apply: bool = False, grace: str | float = DEFAULT_GRACE) -> GcReport:
        body = {"apply": apply, "grace": grace if isinstance(grace, str) else repr(grace)}
        return GcReportOut.model_validate(
            self.t.call("POST", f"{API}/storage/gc", json=body)
        ).to_domain()
