"""The http backend: the same area protocols as the local one, over Relay's REST API.

One module per area, all on one `HttpTransport` (one keep-alive httpx client). Replies are
decoded with the area's wire models (`relayml.wire.<area>`), the same models the server
declares as `response_model`. Errors come back as the same `RelayError` subclasses the
services raise; an unreachable server is `ServerUnavailable`. Files stream both ways and are
checked against their sha256 at each end.
"""

from __future__ import annotations

from relayml.client.base import (
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
from relayml.client.http.artifacts import HttpArtifacts
from relayml.client.http.audit import HttpAudit
from relayml.client.http.datasets import HttpDatasets
from relayml.client.http.deployments import HttpDeployments
from relayml.client.http.identity import HttpIdentity
from relayml.client.http.loops import HttpLoops
from relayml.client.http.models import HttpModels
from relayml.client.http.monitors import HttpMonitors
from relayml.client.http.notifications import HttpNotifications
from relayml.client.http.pipelines import HttpPipelines
from relayml.client.http.roles import HttpRoles
from relayml.client.http.storage import HttpStorage
from relayml.client.http.tracking import HttpTracking
from relayml.client.http.transport import HttpTransport


class HttpBackend:
    kind = "http"

    def __init__(self, url: str, token: str | None) -> None:
        self.transport = t = HttpTransport(url, token)
        self.identity: IdentityApi = HttpIdentity(t)
        self.tracking: TrackingApi = HttpTracking(t)
        self.artifacts: ArtifactsApi = HttpArtifacts(t)
        self.audit: AuditApi = HttpAudit(t)
        self.storage: StorageApi = HttpStorage(t)
        self.datasets: DatasetsApi = HttpDatasets(t)
        self.pipelines: PipelinesApi = HttpPipelines(t)
        self.notifications: NotificationsApi = HttpNotifications(t)
        self.models: ModelsApi = HttpModels(t)
        self.deployments: DeploymentsApi = HttpDeployments(t)
        self.roles: RolesApi = HttpRoles(t)
        self.loops: LoopsApi = HttpLoops(t)
        self.monitors: MonitorsApi = HttpMonitors(t)
        try:
            # Fail fast on a wrong URL or a missing/bad token, at relay.init(server=...).
            self.user: str = self.identity.whoami()["user"]
        except BaseException:
            t.close()
            raise

    def close(self) -> None:
        self.transport.close()


__all__ = ["HttpBackend"]
