"""OpenAPI describes every response, and the server's real bodies match what it says.

A UI or a generated client relies on the document: each operation's success body has a JSON
schema (not a bare string or an empty schema), each error status has the error body, and a
real response validates against the schema its route declares.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import jsonschema
import pytest

ERROR_STATUSES = {"400", "401", "403", "404", "409", "413", "422"}
STREAMED = {
    ("GET", "/api/v1/runs/{run_id}/artifacts/{path}"),
    ("GET", "/api/v1/projects/{project}/datasets/{name}/versions/{version}/data"),
    ("GET", "/api/v1/pipeline-runs/{run_id}/blobs/{digest}"),
    ("GET", "/api/v1/projects/{project}/models/{name}/versions/{version}/artifact"),
    ("GET", "/api/v1/projects/{project}/models/{name}/versions/{version}/golden"),
    ("GET", "/api/v1/projects/{project}/deployments/{name}/segments/{segment_id}/file"),
}
"""Downloads: the body is the blob's raw bytes."""
TEXT = {("GET", "/api/v1/metrics"): "text/plain; version=0.0.4; charset=utf-8"}
"""Prometheus's text format."""


@pytest.fixture(scope="module")
def spec(anon: httpx.Client) -> dict[str, Any]:
    r = anon.get("/openapi.json")
    assert r.status_code == 200
    doc: dict[str, Any] = r.json()
    return doc


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, ops in spec["paths"].items() for m, op in ops.items()]


def _success(op: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    codes = [c for c in op["responses"] if c.startswith("2")]
    assert len(codes) == 1, codes
    return codes[0], op["responses"][codes[0]]


def test_every_success_body_has_a_json_schema(spec: dict[str, Any]) -> None:
    bare = []
    for method, path, op in _operations(spec):
        status, response = _success(op)
        if status == "204":
            assert "content" not in response, (method, path)
            continue
        if (method, path) in STREAMED:
            assert set(response["content"]) == {"application/octet-stream"}, (method, path)
            continue
        if (method, path) in TEXT:
            assert set(response["content"]) == {TEXT[method, path]}, (method, path)
            continue
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        described = "$ref" in schema or schema.get("type") in ("object", "array")
        if not described or (schema.get("type") == "array" and "$ref" not in schema["items"]):
            bare.append(f"{method} {path}: {schema}")
    assert not bare, "operations without a described JSON body:\n" + "\n".join(bare)


def test_every_api_operation_documents_its_errors(spec: dict[str, Any]) -> None:
    error_ref = "#/components/schemas/ErrorBody"
    for method, path, op in _operations(spec):
        documented = {c for c in op["responses"] if c[0] in "45"}
        if path.startswith("/api/"):
            assert documented >= ERROR_STATUSES, (method, path, documented)
        assert documented, (method, path)
        for status in documented:
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": error_ref}, (method, path, status, schema)
    error = spec["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message"}


def _check(spec: dict[str, Any], method: str, path: str, r: httpx.Response) -> None:
    """`r`'s body validates against the schema `path` declares for `r`'s status."""
    responses = spec["paths"][path][method.lower()]["responses"]
    schema = responses[str(r.status_code)]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": spec["components"]}).validate(r.json())


def test_real_responses_match_their_declared_schemas(
    spec: dict[str, Any], admin: httpx.Client, anon: httpx.Client, project: str
) -> None:
    r = admin.post(f"/api/v1/projects/{project}/runs", json={"experiment": "e", "params": {"a": 1}})
    _check(spec, "POST", "/api/v1/projects/{project}/runs", r)
    run_id = r.json()["id"]
    points = [["loss", "NaN", 0, 1], ["loss", "Infinity", 1, 2], ["acc", 0.5, 0, 1]]
    r = admin.post(f"/api/v1/runs/{run_id}/batch", json={"metrics": points})
    _check(spec, "POST", "/api/v1/runs/{run_id}/batch", r)
    r = admin.get(f"/api/v1/runs/{run_id}")
    assert r.json()["metrics"] == {"loss": "Infinity", "acc": 0.5}
    _check(spec, "GET", "/api/v1/runs/{run_id}", r)
    r = admin.get(f"/api/v1/runs/{run_id}/metrics/loss")
    assert [p[1] for p in r.json()["points"]] == ["NaN", "Infinity"]
    _check(spec, "GET", "/api/v1/runs/{run_id}/metrics/{key}", r)
    r = admin.get(f"/api/v1/projects/{project}/runs")
    _check(spec, "GET", "/api/v1/projects/{project}/runs", r)
    r = admin.post(f"/api/v1/runs/{run_id}/end", json={"status": "finished"})
    _check(spec, "POST", "/api/v1/runs/{run_id}/end", r)
    for path in ("/api/v1/whoami", "/api/v1/projects", "/api/v1/users", "/api/v1/audit/verify"):
        _check(spec, "GET", path, admin.get(path))
    r = admin.get("/api/v1/audit", params={"project": project})
    assert r.json()
    _check(spec, "GET", "/api/v1/audit", r)
    r = admin.get(f"/api/v1/projects/{project}/experiments")
    _check(spec, "GET", "/api/v1/projects/{project}/experiments", r)
    _check(spec, "GET", "/healthz", anon.get("/healthz"))
    # errors: the one error body, as documented
    r = admin.get(f"/api/v1/runs/{uuid.uuid4().hex}")
    assert r.status_code == 404
    _check(spec, "GET", "/api/v1/runs/{run_id}", r)
    r = anon.get("/api/v1/whoami")
    assert r.status_code == 401
    _check(spec, "GET", "/api/v1/whoami", r)
    r = admin.post(f"/api/v1/projects/{project}/runs", json={"experiment": 3})
    assert r.status_code == 422
    _check(spec, "POST", "/api/v1/projects/{project}/runs", r)
