"""Bad input over REST is a clear 4xx on SQLite and PostgreSQL, never a 500: the kinds of value
that used to reach the database raw (out-of-range integers, NUL, lone surrogates, searches with
more joins than a planner handles, YAML bombs) are refused at the edge, one rule per kind."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from relayml.testing.server import ServerInfo, running_server
from tests.api.conftest import error_of
from tests.conftest import _scratch_database


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerInfo]:
    home = tmp_path_factory.mktemp(f"bad-input-{request.param}")
    if request.param == "sqlite":
        with running_server(home) as info:
            yield info
        return
    base = request.getfixturevalue("pg_database")
    with _scratch_database(base, "relay_bad") as url, running_server(home, url) as info:
        yield info


@pytest.fixture(scope="module")
def client(live: ServerInfo) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {live.admin_token}"}
    with httpx.Client(base_url=live.url, headers=headers, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def run(client: httpx.Client) -> tuple[str, str]:
    project = f"p-{uuid.uuid4().hex[:8]}"
    assert client.post("/api/v1/projects", json={"name": project}).status_code == 201
    r = client.post(f"/api/v1/projects/{project}/runs", json={"experiment": "e"})
    assert r.status_code == 201, r.text
    return project, r.json()["id"]


def refused(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    return str(error_of(response)["message"])


def test_searches_with_too_many_conditions_or_order_keys(
    client: httpx.Client, run: tuple[str, str]
) -> None:
    project, _ = run
    url = f"/api/v1/projects/{project}/runs"
    fifty = " AND ".join(f"params.k{i} = '1'" for i in range(50))
    assert client.get(url, params={"filter": fifty}).status_code == 200
    for n in (51, 70, 300):
        many = " AND ".join(f"params.k{i} = '1'" for i in range(n))
        assert "at most 50" in refused(client.get(url, params={"filter": many}))
    ten = [f"metrics.m{i} DESC" for i in range(10)]
    assert client.get(url, params={"filter": fifty, "order_by": ten}).status_code == 200
    for n in (11, 70):
        keys = [f"params.k{i}" for i in range(n)]
        assert "at most 10" in refused(client.get(url, params={"order_by": keys}))


def page_token(data: dict[str, object]) -> str:
    """A forged page token (they are opaque to users, but only base64 JSON)."""
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def raw(text: str) -> dict[str, object]:
    """A JSON body sent as written (a lone surrogate cannot be encoded by httpx's json=)."""
    return {"content": text.encode(), "headers": {"Content-Type": "application/json"}}


def test_ints_text_and_yaml_that_used_to_be_500s(
    client: httpx.Client, run: tuple[str, str]
) -> None:
    project, run_id = run
    steps = [{"name": "s"}]
    assert client.put(f"/api/v1/projects/{project}/pipelines/pp",
                      json={"module": "m:p", "steps": steps}).status_code == 200  # fmt: skip
    r = client.post(f"/api/v1/projects/{project}/pipelines/pp/runs", json={"steps": steps})
    assert r.status_code == 201, r.text
    prun = r.json()["id"]
    page = f"/api/v1/projects/{project}/runs"
    start = f"/api/v1/projects/{project}/pipelines/pp/runs"
    when = "2026-01-01T00:00:00+00:00"
    huge = page_token({"after": [2**70, when, "0" * 32], "order": ["metrics.m DESC"]})
    nul = page_token({"after": [when, "a\x00"], "order": []})
    text_for_metric = page_token({"after": ["abc", when, "0" * 32], "order": ["metrics.m"]})
    surrogate = page_token({"after": [when, "\ud800"], "order": []})
    step = f"/api/v1/pipeline-runs/{prun}/steps/s"
    out = {"kind": "value", "digest": "0" * 64, "value": 1}
    cases: list[tuple[str, str, dict[str, object], int]] = [
        # integers out of range
        ("GET", page, {"params": {"page_token": huge, "order_by": "metrics.m DESC"}}, 400),
        ("GET", page, {"params": {"page_token": nul}}, 400),
        ("GET", page, {"params": {"page_token": surrogate}}, 400),
        ("GET", page, {"params": {"page_token": text_for_metric, "order_by": "metrics.m"}}, 400),
        ("GET", page, {"params": {"filter": "start_time > 99999999999999999999"}}, 400),
        ("POST", start, {"json": {"steps": steps, "params": {"x": 2**63}}}, 422),
        ("PUT", step, {"json": {"status": "running", "attempts": 2**63}}, 422),
        ("PUT", step, {"json": {"status": "running", "attempts": 2**40}}, 400),
        ("GET", f"/api/v1/projects/{project}/datasets/d/versions/2147483648", {}, 400),
        ("POST", f"/api/v1/runs/{run_id}/datasets", {"json": {"ref": f"d@{10**20}"}}, 400),
        # non-numeric pipeline output sizes and other mistyped output fields
        ("PUT", step, {"json": {"status": "running", "output": {**out, "size": "abc"}}}, 400),
        ("PUT", step, {"json": {"status": "running", "output": {**out, "size": [1]}}}, 400),
        ("PUT", step, {"json": {"status": "running", "output": {**out, "name": 5}}}, 400),
        # lone surrogates: not valid JSON
        ("POST", f"/api/v1/runs/{run_id}/batch", raw('{"params": {"k": "v\\ud800"}}'), 422),
        ("POST", f"/api/v1/runs/{run_id}/batch", raw('{"tags": {"k": "\\udc00"}}'), 422),
        ("POST", page, raw('{"experiment": "e", "name": "\\ud800"}'), 422),
        ("POST", "/api/v1/projects", raw('{"name": "q", "description": "\\ud800"}'), 422),
        # NUL, in bodies, paths and queries
        ("POST", f"/api/v1/runs/{run_id}/batch", {"json": {"params": {"k": "a\x00"}}}, 400),
        ("POST", f"/api/v1/runs/{run_id}/batch", {"json": {"tags": {"k": "a\x00"}}}, 400),
        ("POST", page, {"json": {"experiment": "e", "name": "a\x00"}}, 400),
        ("POST", "/api/v1/projects", {"json": {"name": "q", "description": "\x00"}}, 400),
        ("POST", f"{step[:-8]}/finish", {"json": {"status": "failed", "error": "\x00"}}, 400),
        ("GET", page, {"params": {"filter": "params.k = 'a\x00'"}}, 400),
        ("GET", "/api/v1/audit", {"params": {"actor": "a\x00"}}, 400),
        ("POST", "/api/v1/users/a%00b/tokens", {}, 400),
        # deep YAML in a contract
        ("POST", f"/api/v1/projects/{project}/datasets/d/versions",
         {"json": {"blob": "0" * 64, "contract": "columns: " + "[" * 1000 + "]" * 1000}}, 400),
    ]  # fmt: skip
    for method, url, kwargs, status in cases:
        r = client.request(method, url, **kwargs)  # type: ignore[arg-type]
        assert r.status_code == status, (method, url, kwargs, r.text)
        error_of(r)
    assert client.get(f"/api/v1/runs/{run_id}").json()["params"] == {}  # nothing half-written


def test_a_step_output_is_refused_naming_what_is_wrong(
    client: httpx.Client, run: tuple[str, str]
) -> None:
    """The runner's report of a step's output is checked before the service sees it: a 400
    that says which field is wrong, with the value, and nothing stored."""
    project, _ = run
    steps = [{"name": "s"}]
    assert client.put(f"/api/v1/projects/{project}/pipelines/out",
                      json={"module": "m:p", "steps": steps}).status_code == 200  # fmt: skip
    r = client.post(f"/api/v1/projects/{project}/pipelines/out/runs", json={"steps": steps})
    assert r.status_code == 201, r.text
    step = f"/api/v1/pipeline-runs/{r.json()['id']}/steps/s"
    out = {"kind": "value", "digest": "0" * 64, "value": [1, "a"]}
    needs = "needs a kind (value, table, file, dataset) and a digest"
    cases: list[tuple[dict[str, object], str]] = [
        ({"digest": "0" * 64}, f"invalid step output {{'digest': '{'0' * 64}'}}: {needs}"),
        ({**out, "kind": "pickle"}, needs),
        ({**out, "digest": 7}, needs),
        ({**out, "size": -1}, "invalid step output size -1: a byte count ≥ 0"),
        ({**out, "size": True}, "invalid step output size True: a byte count ≥ 0"),
        ({**out, "size": "12"}, "invalid step output size '12': a byte count ≥ 0"),
        ({**out, "ref": 5}, "invalid step output ref 5: text or null"),
        ({**out, "format": ["x"]}, "invalid step output format ['x']: text or null"),
        ({**out, "name": {"a": 1}}, "invalid step output name {'a': 1}: text or null"),
    ]
    for output, message in cases:
        got = client.put(step, json={"status": "running", "output": output})
        assert message in refused(got), output
    assert client.get(step[: step.rindex("/steps")]).json()["steps"][0]["output"] is None
    # Keys it does not know are ignored, and an empty output is none, as they always were.
    r = client.put(step, json={"status": "running", "output": {**out, "note": "x"}})
    assert r.status_code == 200, r.text
    assert r.json()["output"] == {**out, "ref": None, "format": None, "name": None, "size": 0}
    r = client.put(step, json={"status": "running", "output": {}})
    assert r.status_code == 200 and r.json()["output"] is None, r.text
