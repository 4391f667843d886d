"""The `artifacts` area's client protocol, `ArtifactsApi`: what both backends implement (the
services bound in-process by `client.local`, REST in `client/http/artifacts.py`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from relayml.domain.tracking import ArtifactInfo


class ArtifactsApi(Protocol):
    """`services.artifacts`: a run's files.

    Files cross the boundary: `log_artifact` takes a local file (the service, a stream of
    chunks) and `download_artifact` writes to `dest` and returns its path (the service returns
    the bytes); both are verified against the file's sha256.
    """

    def log_artifact(
        self, run_id: str, path: str, local_file: str | os.PathLike[str]
    ) -> ArtifactInfo: ...
    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]: ...
    def download_artifact(self, run_id: str, path: str, dest: str | os.PathLike[str]) -> Path: ...
