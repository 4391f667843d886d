"""Who may write to a run, over REST: its owner or an admin, and nobody once it has ended
(tags aside); an artifact path, once written, keeps its bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

import httpx
import pytest

from relayml.testing.server import ServerInfo
from tests.api.conftest import error_of, user_client

Write = Callable[[httpx.Client, str], httpx.Response]


def _params(c: httpx.Client, run: str) -> httpx.Response:
    return c.post(f"/api/v1/runs/{run}/batch", json={"params": {"C": "2"}})


def _metrics(c: httpx.Client, run: str) -> httpx.Response:
    return c.post(f"/api/v1/runs/{run}/batch", json={"metrics": [["auc", 0.99, 9, 1000]]})


def _tags(c: httpx.Client, run: str) -> httpx.Response:
    return c.post(f"/api/v1/runs/{run}/batch", json={"tags": {"reviewed": "yes"}})


def _artifact(c: httpx.Client, run: str) -> httpx.Response:
    return c.put(f"/api/v1/runs/{run}/artifacts/extra.txt", content=b"more")


def _end(c: httpx.Client, run: str) -> httpx.Response:
    return c.post(f"/api/v1/runs/{run}/end", json={"status": "killed"})


WRITES: dict[str, Write] = {
    "params": _params,
    "metrics": _metrics,
    "tags": _tags,
    "artifact": _artifact,
    "end": _end,
}

# (who, run state, write) -> expected status. "owner" and "colleague" are data scientists of
# the project; the run was started by the owner.
RUNNING = {"owner": 200, "colleague": 403, "admin": 200}
ENDED = {
    ("owner", "params"): 422,
    ("owner", "metrics"): 422,
    ("owner", "tags"): 200,
    ("owner", "artifact"): 422,
    ("owner", "end"): 409,  # it ended finished; it cannot become killed
    ("colleague", "params"): 403,
    ("colleague", "metrics"): 403,
    ("colleague", "tags"): 403,
    ("colleague", "artifact"): 403,
    ("colleague", "end"): 403,
    ("admin", "params"): 422,
    ("admin", "metrics"): 422,
    ("admin", "tags"): 200,
    ("admin", "artifact"): 422,
    ("admin", "end"): 409,
}


@pytest.fixture
def people(
    server: ServerInfo, admin: httpx.Client, project: str
) -> Iterator[dict[str, httpx.Client]]:
    owner = user_client(server, admin, "data_scientist", project)
    colleague = user_client(server, admin, "data_scientist", project)
    yield {"owner": owner, "colleague": colleague, "admin": admin}
    owner.close()
    colleague.close()


def _new_run(owner: httpx.Client, project: str) -> str:
    r = owner.post(f"/api/v1/projects/{project}/runs", json={"experiment": "e"})
    assert r.status_code == 201, r.text
    run = r.json()["id"]
    assert owner.put(f"/api/v1/runs/{run}/artifacts/model.txt", content=b"v1").status_code == 201
    assert _metrics(owner, run).status_code == 200
    return str(run)


@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.parametrize("who", sorted(RUNNING))
def test_only_the_owner_or_an_admin_writes_to_a_running_run(
    people: dict[str, httpx.Client], project: str, who: str, write: str
) -> None:
    run = _new_run(people["owner"], project)
    r = WRITES[write](people[who], run)
    expected = RUNNING[who]
    if write == "artifact" and expected == 200:
        expected = 201
    assert r.status_code == expected, (who, write, r.text)
    if expected == 403:
        assert "belongs to" in str(error_of(r)["message"])


@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.parametrize("who", sorted(RUNNING))
def test_a_finished_run_is_closed_to_params_metrics_and_artifacts(
    people: dict[str, httpx.Client], project: str, who: str, write: str
) -> None:
    owner = people["owner"]
    run = _new_run(owner, project)
    assert owner.post(f"/api/v1/runs/{run}/end", json={"status": "finished"}).status_code == 200
    r = WRITES[write](people[who], run)
    assert r.status_code == ENDED[(who, write)], (who, write, r.text)
    if r.status_code == 422:
        assert "start a new run" in str(error_of(r)["message"]).lower()
    shown = owner.get(f"/api/v1/runs/{run}").json()
    assert shown["metrics"] == {"auc": 0.99} and shown["params"] == {}
    assert shown["status"] == "finished"


def test_an_artifact_path_once_written_keeps_its_bytes(
    people: dict[str, httpx.Client], project: str
) -> None:
    owner = people["owner"]
    run = _new_run(owner, project)
    again = owner.put(f"/api/v1/runs/{run}/artifacts/model.txt", content=b"v1")
    assert again.status_code == 201  # the same bytes again: nothing changes
    for who in ("owner", "admin"):
        r = people[who].put(f"/api/v1/runs/{run}/artifacts/model.txt", content=b"v2")
        assert r.status_code == 409, r.text
        assert "not replaced" in str(error_of(r)["message"])
    listed = owner.get(f"/api/v1/runs/{run}/artifacts").json()
    assert [a["digest"] for a in listed] == [hashlib.sha256(b"v1").hexdigest()]
    assert owner.get(f"/api/v1/runs/{run}/artifacts/model.txt").content == b"v1"
