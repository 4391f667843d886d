"""The embedded backend: the service layer in-process, bound to one principal.

`bind` turns each of an area's operations (`client/ops.py`: the service method itself, or a
file method of `client/files.py`) into a method of the bound area: `m(who, *args, **kwargs)`
becomes `m(*args, **kwargs)`. The signatures are the service's own, so there is nothing to
restate and nothing that can drift.
"""

from __future__ import annotations

import functools
from typing import Any

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
from relayml.client.files import (
    ArtifactFiles,
    DatasetFiles,
    DeploymentFiles,
    ModelFiles,
    PipelineFiles,
)
from relayml.client.ops import operations
from relayml.domain.identity import Principal
from relayml.services import Services


class LocalBackend:
    kind = "local"

    def __init__(
        self, services: Services, principal: Principal, *, owns_services: bool = True
    ) -> None:
        self.services = services
        self._owns_services = owns_services
        self.principal = principal
        self.user = principal.user
        s, p = services, principal
        self.identity: IdentityApi = bind(IdentityApi, s.identity, p)
        self.tracking: TrackingApi = bind(TrackingApi, s.tracking, p)
        self.artifacts: ArtifactsApi = bind(ArtifactsApi, s.artifacts, p, ArtifactFiles(s, p))
        self.audit: AuditApi = bind(AuditApi, s.audit, p)
        self.storage: StorageApi = bind(StorageApi, s.storage, p)
        self.datasets: DatasetsApi = bind(DatasetsApi, s.datasets, p, DatasetFiles(s, p))
        self.pipelines: PipelinesApi = bind(PipelinesApi, s.pipelines, p, PipelineFiles(s, p))
        self.notifications: NotificationsApi = bind(NotificationsApi, s.notifications, p)
        self.models: ModelsApi = bind(ModelsApi, s.models, p, ModelFiles(s, p))
        self.deployments: DeploymentsApi = bind(
            DeploymentsApi, s.deployments, p, DeploymentFiles(s, p)
        )
        self.roles: RolesApi = bind(RolesApi, s.roles, p)
        self.loops: LoopsApi = bind(LoopsApi, s.loops, p)
        self.monitors: MonitorsApi = bind(MonitorsApi, s.monitors, p)

    def close(self) -> None:
        """Close the services, unless they were lent (`client.connect.acting_as`)."""
        if self._owns_services:
            self.services.close()


class Bound:
    """An area's operations with the principal filled in (see `bind`)."""

    def __init__(self, area: str, methods: dict[str, Any]) -> None:
        self._area = area
        self.__dict__.update(methods)

    def __repr__(self) -> str:
        return f"<local {self._area}>"


def bind(api: type[Any], service: object, principal: Principal, files: object = None) -> Any:
    """`api`'s operations on `service` called as `principal` (file operations on `files`).
    Raises TypeError when an operation's function is not `service`'s (or `files`') own. The
    caller gives the result its area type (`self.tracking: TrackingApi = bind(...)`)."""
    methods: dict[str, Any] = {}
    for name, found in operations(api).items():
        owner = service if found.takes_caller else files
        method: Any = getattr(owner, name, None)
        if getattr(method, "__func__", None) is not found.fn:
            raise TypeError(f"{found!r} is not a method of {type(owner).__name__}")
        methods[name] = functools.partial(method, principal) if found.takes_caller else method
    area = next((a for a, cls in AREAS.items() if cls is api), api.__name__)
    return Bound(area, methods)
