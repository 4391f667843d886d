"""The `artifacts` area's operations, `ArtifactsApi`: each one its service
method (`op`, `client/ops.py`), bound in-process by `client.local` and sent by its route
in `client/http/artifacts.py`."""

from __future__ import annotations

from relayml.client.files import ArtifactFiles
from relayml.client.ops import file_op, op
from relayml.services.artifacts import ArtifactService


class ArtifactsApi:
    """`services.artifacts`: a run's files.

    Files cross the boundary: `log_artifact` takes a local file (the service, a stream of
    chunks) and `download_artifact` writes to `dest` and returns its path (the service returns
    the bytes); both are verified against the file's sha256.
    """

    log_artifact = file_op(ArtifactFiles.log_artifact)
    list_artifacts = op(ArtifactService.list_artifacts)
    download_artifact = file_op(ArtifactFiles.download_artifact)
