"""`ArtifactsApi` over REST: a run's files, streamed both ways with their sha256."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from relayml.client.http.binding import Args, Route, get, put
from relayml.client.http.transport import HttpTransport
from relayml.client.http.urls import API, run_seg
from relayml.domain.artifacts import check_logical_path
from relayml.domain.tracking import ArtifactInfo
from relayml.wire.tracking import ArtifactOut


def _artifact_url(a: Args) -> str:
    # Checked here as well as on the server: an http client would normalise '..' away.
    logical = check_logical_path(a["path"])
    return f"{API}/runs/{run_seg(a['run_id'])}/artifacts/{quote(logical, safe='/')}"


def _upload(t: HttpTransport, a: Args) -> ArtifactInfo:
    found = t.put_file(_artifact_url(a), a["local_file"])
    return ArtifactOut.model_validate(found).to_domain()


def _download(t: HttpTransport, a: Args) -> Path:
    what = f"artifact {a['path']!r} of run {a['run_id']}"
    return t.get_file(_artifact_url(a), a["dest"], what=what)


# a logical path keeps its '/' in the URL (one path, several segments): these two are `send`
_FILE = "/runs/{run_id}/artifacts/{path}"

ROUTES: dict[str, Route] = {
    "log_artifact": put(_FILE, send=_upload),
    "list_artifacts": get("/runs/{run_id}/artifacts"),
    "download_artifact": get(_FILE, send=_download),
}
