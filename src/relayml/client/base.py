"""What the SDK and CLI talk to: a `Backend` with one class of operations per area.

An area's operations are declared once, by pointing at the service methods that do the work
(`client/<area>.py`: `publish = op(DatasetService.publish)`, `client/ops.py`): the service
method's signature without the principal is the operation's, for the type checker and for
both backends, so `backend.datasets.release(...)` is `services.datasets.release(who, ...)`
and a reader follows a call from the SDK to the service by name. `client.local` binds the
services in-process; `client.http` sends each operation by its route (`client/http/<area>.py`,
a table). Where a file crosses the boundary the operation is the embedded backend's file
method (`client/files.py`: a local path in or out instead of a stream of bytes).
`relayml.testing` runs the same contract suite against every backend.
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


# area name (the same in every layer) -> its class of operations, as declared on `Backend`
AREAS: dict[str, type[Any]] = {
    name: hint for name, hint in get_type_hints(Backend).items() if name not in ("user", "kind")
}
