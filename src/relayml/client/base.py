"""What the SDK and CLI talk to: a `Backend` with one narrow protocol per area.

Each area protocol carries its service's method names and signatures without the principal
(`backend.datasets.publish(...)` is `services.datasets.publish(who, ...)`), so a reader follows
a call from the SDK to the service by name. `client.local` binds the services to these
protocols generically and checks the signatures when it binds; `client.http` implements them
over REST, one module per area. Methods where a file crosses the boundary take or return a
local path instead of a stream of bytes; their docstrings say so. `relayml.testing` runs the
same contract suite against every backend.

Each area's protocol is its own module, `client/<area>.py` (`<Area>Api`, beside its http twin
`client/http/<area>.py`), imported here for `Backend`, from which `AREAS` is read.
"""

from __future__ import annotations

from typing import Any, Protocol, get_type_hints

from relayml.client.artifacts import ArtifactsApi as ArtifactsApi
from relayml.client.audit import AuditApi as AuditApi
from relayml.client.datasets import DatasetsApi as DatasetsApi
from relayml.client.deployments import DeploymentsApi as DeploymentsApi
from relayml.client.identity import IdentityApi as IdentityApi
from relayml.client.loops import LoopsApi as LoopsApi
from relayml.client.models import ModelsApi as ModelsApi
from relayml.client.monitors import MonitorsApi as MonitorsApi
from relayml.client.notifications import NotificationsApi as NotificationsApi
from relayml.client.pipelines import PipelinesApi as PipelinesApi
from relayml.client.roles import RolesApi as RolesApi
from relayml.client.storage import StorageApi as StorageApi
from relayml.client.tracking import TrackingApi as TrackingApi


class Backend(Protocol):
    """One caller's connection: local (services in-process) or http (REST)."""

    user: str
    kind: str  # "local" or "http"
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

    def close(self) -> None: ...


# area name (the same in every layer) -> its client protocol, as declared on `Backend`
AREAS: dict[str, type[Any]] = {
    name: hint for name, hint in get_type_hints(Backend).items() if name not in ("user", "kind")
}
