"""The embedded backend: the service layer in-process, bound to one principal.

`bind` turns each service method `m(who, *args, **kwargs)` into `m(*args, **kwargs)` and hands
the result out typed as the area's protocol. What makes that cast safe is checked when it is
made: every protocol method must exist on the service (or on the area's file adapter) with the
protocol's own signature, so a service and its client protocol cannot drift apart silently.
The only hand-written methods are the few where a local file is opened or written.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

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
from relayml.domain.artifacts import CHUNK
from relayml.domain.datasets import DatasetVersion
from relayml.domain.deployments import LogSegment
from relayml.domain.identity import Principal
from relayml.domain.models import ModelVersion
from relayml.domain.tracking import ArtifactInfo
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
    """An area's service methods with the principal filled in (see `bind`)."""

    def __init__(self, area: str, methods: dict[str, Any]) -> None:
        self._area = area
        self.__dict__.update(methods)

    def __repr__(self) -> str:
        return f"<local {self._area}>"


def bind(api: type[Any], service: object, principal: Principal, files: object = None) -> Any:
    """`service`'s methods named in the protocol `api`, called as `principal`; the methods of
    `files` (local file handling) take precedence. Raises TypeError on a signature mismatch.
    The caller gives the result its protocol type (`self.tracking: TrackingApi = bind(...)`)."""
    _check(api, type(service), type(files) if files is not None else None)
    methods: dict[str, Any] = {}
    for name in operations(api):
        if files is not None and hasattr(files, name):
            methods[name] = getattr(files, name)
        else:
            methods[name] = functools.partial(getattr(service, name), principal)
    return Bound(_area_of(api), methods)


def operations(api: type[Any]) -> list[str]:
    """The operations a client protocol declares, in declaration order."""
    return [n for n, v in vars(api).items() if callable(v) and not n.startswith("_")]


_checked: set[tuple[type[Any], type[Any], type[Any] | None]] = set()


def _check(api: type[Any], service: type[Any], files: type[Any] | None) -> None:
    if (api, service, files) in _checked:
        return
    for name in operations(api):
        want = _params(getattr(api, name), drop=1)  # self
        if not hasattr(service, name):  # the client keeps the service's name, adapted or not
            raise TypeError(f"{service.__name__} has no method {name!r} for {api.__name__}")
        if files is not None and hasattr(files, name):
            got, where = _params(getattr(files, name), drop=1), files.__name__
        else:
            got, where = _params(getattr(service, name), drop=2), service.__name__  # self, who
        if got != want:
            raise TypeError(f"{where}.{name}{got} does not match {api.__name__}.{name}{want}")
    _checked.add((api, service, files))


def _params(fn: Any, drop: int) -> tuple[tuple[str, Any, Any, Any], ...]:
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())[drop:]
    shape = [(p.name, p.kind, p.default, p.annotation) for p in params]
    return (*shape, ("->", None, None, sig.return_annotation))


def _area_of(api: type[Any]) -> str:
    return next((area for area, proto in AREAS.items() if proto is api), api.__name__)


def _chunks(fh: BinaryIO) -> Iterator[bytes]:
    return iter(lambda: fh.read(CHUNK), b"")


class ArtifactFiles:
    """`ArtifactsApi`'s file methods: a local file in, a local file out."""

    def __init__(self, services: Services, principal: Principal) -> None:
        self._s, self._who = services, principal

    def log_artifact(
        self, run_id: str, path: str, local_file: str | os.PathLike[str]
    ) -> ArtifactInfo:
        with open(local_file, "rb") as fh:
            return self._s.artifacts.log_artifact(self._who, run_id, path, _chunks(fh))

    def download_artifact(self, run_id: str, path: str, dest: str | os.PathLike[str]) -> Path:
        info = self._s.artifacts.find(self._who, run_id, path)
        return self._s.artifact_store.download(info.digest, dest)


class DatasetFiles:
    """`DatasetsApi`'s file methods: the caller's Parquet file is uploaded, then published."""

    def __init__(self, services: Services, principal: Principal) -> None:
        self._s, self._who = services, principal

    def publish(
        self,
        project: str,
        name: str,
        parquet_file: str | os.PathLike[str],
        *,
        contract: str | None = None,
        description: str = "",
        source: str = "",
        parents: list[str] | None = None,
        producer: dict[str, str] | None = None,
    ) -> DatasetVersion:
        datasets = self._s.datasets
        with open(parquet_file, "rb") as fh:
            blob, _ = datasets.upload(self._who, project, _chunks(fh))
        return datasets.publish(
            self._who,
            project,
            name,
            blob,
            contract=contract,
            description=description,
            source=source,
            parents=parents,
            producer=producer,
        )

    def download(
        self,
        project: str,
        ref: str,
        dest: str | os.PathLike[str],
        allow_quarantined: bool = False,
    ) -> Path:
        version = self._s.datasets.get(self._who, project, ref, allow_quarantined)
        return self._s.artifact_store.download(version.blob, dest)


class PipelineFiles:
    """`PipelinesApi`'s file methods: step outputs and logs as local files."""

    def __init__(self, services: Services, principal: Principal) -> None:
        self._s, self._who = services, principal

    def put_blob(self, run_id: str, local_file: str | os.PathLike[str]) -> tuple[str, int]:
        with open(local_file, "rb") as fh:
            return self._s.pipelines.put_blob(self._who, run_id, _chunks(fh))

    def download_blob(self, run_id: str, digest: str, dest: str | os.PathLike[str]) -> Path:
        self._s.pipelines.download_blob(self._who, run_id, digest)  # checks access
        return self._s.artifact_store.download(digest, dest)


class ModelFiles:
    """`ModelsApi`'s file methods: the caller's artifact file is uploaded, then registered."""

    def __init__(self, services: Services, principal: Principal) -> None:
        self._s, self._who = services, principal

    def register(
        self,
        project: str,
        name: str,
        artifact_file: str | os.PathLike[str],
        *,
        flavor: str,
        environment: dict[str, Any],
        signature: dict[str, Any] | None = None,
        run_id: str | None = None,
        unsafe_pickle: bool = False,
        description: str = "",
        tags: dict[str, str] | None = None,
        golden_file: str | os.PathLike[str] | None = None,
    ) -> ModelVersion:
        models = self._s.models
        with open(artifact_file, "rb") as fh:
            blob, _ = models.upload(self._who, project, _chunks(fh))
        golden = None
        if golden_file is not None:
            with open(golden_file, "rb") as fh:
                golden, _ = models.upload(self._who, project, _chunks(fh))
        return models.register(
            self._who,
            project,
            name,
            blob,
            flavor=flavor,
            environment=environment,
            signature=signature,
            run_id=run_id,
            unsafe_pickle=unsafe_pickle,
            description=description,
            tags=tags,
            golden=golden,
        )

    def download(self, project: str, ref: str, dest: str | os.PathLike[str]) -> Path:
        version = self._s.models.get(self._who, project, ref)
        return self._s.artifact_store.download(version.digest, dest)

    def download_golden(self, project: str, ref: str, dest: str | os.PathLike[str]) -> Path:
        found, _ = self._s.models.download_golden(self._who, project, ref)
        return self._s.artifact_store.download(found.digest, dest)


class DeploymentFiles:
    """`DeploymentsApi`'s file methods: a segment's Parquet file uploaded, then registered;
    a registered segment written to a local file."""

    def __init__(self, services: Services, principal: Principal) -> None:
        self._s, self._who = services, principal

    def record_segment(
        self,
        project: str,
        name: str,
        segment_file: str | os.PathLike[str],
        *,
        uri: str,
        records: int,
        first_at: datetime,
        last_at: datetime,
        server_id: str,
    ) -> LogSegment:
        deployments = self._s.deployments
        with open(segment_file, "rb") as fh:
            blob, _ = deployments.upload(self._who, project, name, _chunks(fh))
        return deployments.record_segment(
            self._who,
            project,
            name,
            uri=uri,
            digest=blob,
            records=records,
            first_at=first_at,
            last_at=last_at,
            server_id=server_id,
        )

    def download_segment(
        self, project: str, name: str, segment_id: str, dest: str | os.PathLike[str]
    ) -> Path:
        found, _ = self._s.deployments.download_segment(self._who, project, name, segment_id)
        return self._s.artifact_store.download(found.digest, dest)
