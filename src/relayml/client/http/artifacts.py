"""`ArtifactsApi` over REST: a run's files, streamed both ways with their sha256."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from relayml.client.http.transport import HttpTransport
from relayml.client.http.urls import API, run_seg
from relayml.domain.artifacts import check_logical_path
from relayml.domain.tracking import ArtifactInfo
from relayml.wire.tracking import ArtifactOut


def _artifact_url(run_id: str, path: str) -> str:
    # Checked here as well as on the server: an http client would normalise '..' away.
    logical = check_logical_path(path)
    return f"{API}/runs/{run_seg(run_id)}/artifacts/{quote(logical, safe='/')}"


class HttpArtifacts:
    def __init__(self, transport: HttpTransport) -> None:
        self.t = transport

    def log_artifact(
        self, run_id: str, path: str, local_file: str | os.PathLike[str]
    ) -> ArtifactInfo:
        found = self.t.put_file(_artifact_url(run_id, path), local_file)
        return ArtifactOut.model_validate(found).to_domain()

    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]:
        rows = self.t.call(
            "GET", f"{API}/runs/{run_seg(run_id)}/artifacts", params={"prefix": prefix}
        )
        return [ArtifactOut.model_validate(a).to_domain() for a in rows]

    def download_artifact(self, run_id: str, path: str, dest: str | os.PathLike[str]) -> Path:
        what = f"artifact {path!r} of run {run_id}"
        return self.t.get_file(_artifact_url(run_id, path), dest, what=what)
