"""The API documents itself: /openapi.json lists every route, /docs serves Swagger UI."""

from __future__ import annotations

import httpx


def test_openapi_lists_the_routes(anon: httpx.Client) -> None:
    r = anon.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    routes = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    expected = {
        ("GET", "/healthz"),
        ("GET", "/api/v1/whoami"),
        ("GET", "/api/v1/projects"),
        ("POST", "/api/v1/projects"),
        ("PUT", "/api/v1/projects/{project}"),
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/users"),
        ("POST", "/api/v1/users/{user}/tokens"),
        ("POST", "/api/v1/users/{user}/grants"),
        ("DELETE", "/api/v1/users/{user}/grants/{role}"),
        ("GET", "/api/v1/projects/{project}/experiments"),
        ("POST", "/api/v1/projects/{project}/runs"),
        ("GET", "/api/v1/projects/{project}/runs"),
        ("GET", "/api/v1/runs/{run_id}"),
        ("POST", "/api/v1/runs/{run_id}/batch"),
        ("POST", "/api/v1/runs/{run_id}/end"),
        ("GET", "/api/v1/runs/{run_id}/metrics/{key}"),
        ("PUT", "/api/v1/runs/{run_id}/artifacts/{path}"),
        ("GET", "/api/v1/runs/{run_id}/artifacts"),
        ("GET", "/api/v1/runs/{run_id}/artifacts/{path}"),
        ("GET", "/api/v1/audit"),
        ("GET", "/api/v1/audit/verify"),
    }
    assert expected <= routes, sorted(expected - routes)
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    # the request schemas are there for clients to generate from
    assert {"RunCreate", "LogBatch", "UserCreate"} <= set(spec["components"]["schemas"])
    put = spec["paths"]["/api/v1/runs/{run_id}/artifacts/{path}"]["put"]
    assert "application/octet-stream" in put["requestBody"]["content"]


def test_docs_serve_html(anon: httpx.Client) -> None:
    r = anon.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "swagger" in r.text.lower() and "/openapi.json" in r.text
