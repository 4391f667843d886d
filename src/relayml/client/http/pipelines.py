"""`PipelinesApi` over REST: definitions, runs, step records, the step cache and step blobs."""

from __future__ import annotations

from pathlib import Path

from relayml.client.http.binding import Args, Route, get, post, put
from relayml.client.http.transport import HttpTransport, seg
from relayml.client.http.urls import API, run_seg
from relayml.domain.artifacts import check_digest
from relayml.domain.pipelines import check_step_name
from relayml.wire.common import Stored
from relayml.wire.pipelines import CachedOutputOut

_EMPTY: dict[str, object] = {"params": {}, "steps": [], "on_publish": []}


def _or_empty(a: Args) -> Args:
    """The body of `register` and `start_run`: the arguments but those in the path, None sent
    as the empty value the server's body defaults to (it refuses null)."""
    rest = {k: v for k, v in a.items() if k not in ("project", "name", "pipeline")}
    return {k: _EMPTY[k] if v is None and k in _EMPTY else v for k, v in rest.items()}


def _put_blob(t: HttpTransport, a: Args) -> tuple[str, int]:
    stored = Stored.model_validate(
        t.put_file(f"{API}/pipeline-runs/{run_seg(a['run_id'])}/blobs", a["local_file"])
    )
    return stored.digest, stored.size


def _download_blob(t: HttpTransport, a: Args) -> Path:
    run_id, digest = a["run_id"], a["digest"]
    url = f"{API}/pipeline-runs/{run_seg(run_id)}/blobs/{seg(check_digest(digest))}"
    what = f"blob {digest} of pipeline run {run_id}"
    return t.get_file(url, a["dest"], what=what, expected=digest)


_PIPELINE = "/projects/{project}/pipelines/{name:pipeline}"
# the operations that name it `pipeline`, not `name`
_BY_PIPELINE = "/projects/{project}/pipelines/{pipeline:pipeline}"

ROUTES: dict[str, Route] = {
    "register": put(_PIPELINE, body=_or_empty),
    "list_pipelines": get("/pipelines"),
    "get_pipeline": get(_PIPELINE),
    "pause": post(f"{_PIPELINE}/pause"),
    "resume": post(f"{_PIPELINE}/resume"),
    "backfill_plan": get(f"{_BY_PIPELINE}/backfill-plan"),
    "start_run": post(f"{_BY_PIPELINE}/runs", body=_or_empty),
    "due_triggers": get("/pipeline-triggers/due"),
    "record_step": put("/pipeline-runs/{run_id}/steps/{step}", checks={"step": check_step_name}),
    "finish_run": post("/pipeline-runs/{run_id}/finish"),
    "list_runs": get("/projects/{project}/pipeline-runs"),
    "get_run": get("/pipeline-runs/{run_id}"),
    "find_cached": get(
        "/projects/{project}/pipeline-cache/{cache_key}",
        checks={"cache_key": check_digest},
        out=lambda found: CachedOutputOut.model_validate(found).to_domain(),
    ),
    "put_blob": put("/pipeline-runs/{run_id}/blobs", send=_put_blob),
    "download_blob": get("/pipeline-runs/{run_id}/blobs/{digest}", send=_download_blob),
}
