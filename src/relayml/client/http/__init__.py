"""The http backend: the same areas as the local one, over Relay's REST API.

One module per area, each a table of routes (`client/http/<area>.py`, `ROUTES`) that
`binding.bind` turns into the area's operations, all on one `HttpTransport` (one keep-alive
httpx client). Replies are decoded with the area's wire models (`relayml.wire.<area>`), the same
models the server declares as `response_model`. Errors come back as the same `RelayError`
subclasses the services raise; an unreachable server is `ServerUnavailable`. Files stream both
ways and are checked against their sha256 at each end.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from relayml.client.base import (
    AREAS,
    ArtifactsApi,
    AuditApi,
    DatasetsApi,
    DeploymentsApi,
    IdentityApi,
    LoopsApi,
    ModelsApi,
    MonitorsApi,
    NotificationsApi,
    PipelinesApi,
    RolesApi,
    StorageApi,
    TrackingApi,
)
from relayml.client.http.binding import bind
from relayml.client.http.transport import HttpTransport

MODULES: dict[str, ModuleType] = {
    area: importlib.import_module(f"relayml.client.http.{area}") for area in AREAS
}
"""area -> its module of routes, `client/http/<area>.py` (named as the area, like every layer)."""


class HttpBackend:
    kind = "http"
    identity: IdentityApi
    tracking: TrackingApi
    artifacts: ArtifactsApi
    audit: AuditApi
    storage: StorageApi
    datasets: DatasetsApi
    pipelines: PipelinesApi
    notifications: NotificationsApi
    models: ModelsApi
    deployments: DeploymentsApi
    roles: RolesApi
    loops: LoopsApi
    monitors: MonitorsApi

    def __init__(self, url: str, token: str | None) -> None:
        self.transport = t = HttpTransport(url, token)
        for name in AREAS:
            setattr(self, name, bind(AREAS[name], MODULES[name].ROUTES, t))
        try:
            # Fail fast on a wrong URL or a missing/bad token, at relay.init(server=...).
            self.user: str = self.identity.whoami()["user"]
        except BaseException:
            t.close()
            raise

    def close(self) -> None:
        self.transport.close()


__all__ = ["HttpBackend"]
