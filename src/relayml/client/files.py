"""The embedded backend's file methods: where a local file crosses an area's boundary.

The service takes a stream of bytes (or a stored blob) where a client has a local path: these
methods open, upload and download the files, then call the service as the bound principal.
Their signatures are the operations' own (`file_op(DatasetFiles.publish)` in
`client/datasets.py`); the http backend implements the same operations with streamed uploads.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from relayml.domain.artifacts import CHUNK
from relayml.domain.datasets import DatasetVersion
from relayml.domain.deployments import LogSegment
from relayml.domain.identity import Principal
from relayml.domain.models import ModelVersion
from relayml.domain.tracking import ArtifactInfo

if TYPE_CHECKING:
    from relayml.services import Services


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
