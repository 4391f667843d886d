"""The API documents itself: /openapi.json lists every route, /docs serves Swagger UI."""

from __future__ import annotations

import httpx

# Every operation the API serves, in full: a route added or lost fails this test until the
# list (and the docs that describe the API) say so.
EXPECTED_ROUTES = {
    ("GET", "/healthz"),
    # identity
    ("GET", "/api/v1/whoami"),
    ("GET", "/api/v1/projects"),
    ("POST", "/api/v1/projects"),
    ("PUT", "/api/v1/projects/{project}"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("POST", "/api/v1/users/{user}/tokens"),
    ("POST", "/api/v1/users/{user}/grants"),
    ("DELETE", "/api/v1/users/{user}/grants/{role}"),
    ("POST", "/api/v1/users/{user}/deactivate"),
    ("POST", "/api/v1/users/{user}/activate"),
    ("GET", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{token_id}"),
    # tracking
    ("GET", "/api/v1/projects/{project}/experiments"),
    ("POST", "/api/v1/projects/{project}/runs"),
    ("GET", "/api/v1/projects/{project}/runs"),
    ("GET", "/api/v1/runs/{run_id}"),
    ("POST", "/api/v1/runs/{run_id}/batch"),
    ("POST", "/api/v1/runs/{run_id}/end"),
    ("GET", "/api/v1/runs/{run_id}/metrics/{key}"),
    # artifacts
    ("PUT", "/api/v1/runs/{run_id}/artifacts/{path}"),
    ("GET", "/api/v1/runs/{run_id}/artifacts"),
    ("GET", "/api/v1/runs/{run_id}/artifacts/{path}"),
    # audit
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/audit/verify"),
    ("GET", "/api/v1/metrics"),
    ("POST", "/api/v1/audit/checkpoints"),
    # pipelines
    ("PUT", "/api/v1/projects/{project}/pipelines/{name}"),
    ("GET", "/api/v1/pipelines"),
    ("GET", "/api/v1/projects/{project}/pipelines/{name}"),
    ("POST", "/api/v1/projects/{project}/pipelines/{name}/pause"),
    ("POST", "/api/v1/projects/{project}/pipelines/{name}/resume"),
    ("GET", "/api/v1/projects/{project}/pipelines/{name}/backfill-plan"),
    ("POST", "/api/v1/projects/{project}/pipelines/{name}/runs"),
    ("GET", "/api/v1/pipeline-triggers/due"),
    ("GET", "/api/v1/projects/{project}/pipeline-runs"),
    ("GET", "/api/v1/pipeline-runs/{run_id}"),
    ("PUT", "/api/v1/pipeline-runs/{run_id}/steps/{step}"),
    ("POST", "/api/v1/pipeline-runs/{run_id}/finish"),
    ("GET", "/api/v1/projects/{project}/pipeline-cache/{cache_key}"),
    ("PUT", "/api/v1/pipeline-runs/{run_id}/blobs"),
    ("GET", "/api/v1/pipeline-runs/{run_id}/blobs/{digest}"),
    # datasets
    ("PUT", "/api/v1/projects/{project}/datasets/uploads"),
    ("POST", "/api/v1/projects/{project}/datasets/{name}/versions"),
    ("GET", "/api/v1/projects/{project}/datasets/{name}/versions"),
    ("GET", "/api/v1/projects/{project}/datasets"),
    ("GET", "/api/v1/projects/{project}/datasets/{name}/versions/{version}"),
    ("GET", "/api/v1/projects/{project}/datasets/{name}/versions/{version}/data"),
    ("GET", "/api/v1/projects/{project}/datasets/{name}/versions/{version}/sketch"),
    ("GET", "/api/v1/projects/{project}/datasets/{name}/versions/{version}/lineage"),
    ("POST", "/api/v1/projects/{project}/datasets/{name}/versions/{version}/release"),
    ("POST", "/api/v1/projects/{project}/datasets/{name}/versions/{version}/quarantine"),
    ("GET", "/api/v1/installed-checks"),
    ("GET", "/api/v1/projects/{project}/trusted-checks"),
    ("POST", "/api/v1/projects/{project}/trusted-checks"),
    ("DELETE", "/api/v1/projects/{project}/trusted-checks/{ref}"),
    ("POST", "/api/v1/projects/{project}/datasets/{name}/versions/{version}/deprecate"),
    ("POST", "/api/v1/projects/{project}/datasets/{name}/versions/{version}/undeprecate"),
    ("POST", "/api/v1/runs/{run_id}/datasets"),
    # webhooks
    ("POST", "/api/v1/projects/{project}/webhooks"),
    ("GET", "/api/v1/projects/{project}/webhooks"),
    ("DELETE", "/api/v1/projects/{project}/webhooks/{webhook_id}"),
    ("GET", "/api/v1/projects/{project}/webhook-deliveries"),
    ("POST", "/api/v1/projects/{project}/webhook-deliveries/{delivery_id}/redeliver"),
    # the model registry
    ("PUT", "/api/v1/projects/{project}/models/uploads"),
    ("POST", "/api/v1/projects/{project}/models/{name}/versions"),
    ("GET", "/api/v1/projects/{project}/models"),
    ("GET", "/api/v1/projects/{project}/models/{name}/versions"),
    ("GET", "/api/v1/projects/{project}/models/{name}/versions/{version}"),
    ("GET", "/api/v1/projects/{project}/models/{name}/versions/{version}/artifact"),
    ("GET", "/api/v1/projects/{project}/models/{name}/history"),
    ("PUT", "/api/v1/projects/{project}/models/{name}/aliases/{alias}"),
    ("PATCH", "/api/v1/projects/{project}/models/{name}/versions/{version}/tags"),
    ("POST", "/api/v1/projects/{project}/models/{name}/versions/{version}/archive"),
    ("GET", "/api/v1/projects/{project}/models/{name}/card"),
    ("PATCH", "/api/v1/projects/{project}/models/{name}/card"),
    ("GET", "/api/v1/projects/{project}/models/{name}/requirements"),
    ("PUT", "/api/v1/projects/{project}/models/{name}/requirements/{metric}"),
    ("GET", "/api/v1/projects/{project}/policy"),
    ("PUT", "/api/v1/projects/{project}/policy"),
    ("POST", "/api/v1/projects/{project}/models/{name}/versions/{version}/evaluate"),
    ("GET", "/api/v1/projects/{project}/models/{name}/versions/{version}/report"),
    ("GET", "/api/v1/projects/{project}/models/{name}/versions/{version}/golden"),
    ("POST", "/api/v1/projects/{project}/models/{name}/versions/{version}/promotions"),
    ("GET", "/api/v1/projects/{project}/requests"),
    ("GET", "/api/v1/requests/{request_id}"),
    ("POST", "/api/v1/requests/{request_id}/approve"),
    ("POST", "/api/v1/requests/{request_id}/reject"),
    ("POST", "/api/v1/requests/{request_id}/withdraw"),
    ("POST", "/api/v1/requests/{request_id}/comments"),
    ("GET", "/api/v1/inbox"),
    # deployments
    ("GET", "/api/v1/projects/{project}/deployments"),
    ("POST", "/api/v1/projects/{project}/deployments"),
    ("GET", "/api/v1/projects/{project}/deployments/{name}"),
    ("GET", "/api/v1/projects/{project}/deployments/{name}/history"),
    ("GET", "/api/v1/projects/{project}/deployments/{name}/resolution"),
    ("PUT", "/api/v1/projects/{project}/deployments/{name}/target"),
    ("PUT", "/api/v1/projects/{project}/deployments/{name}/traffic"),
    ("POST", "/api/v1/projects/{project}/deployments/{name}/promote-canary"),
    ("POST", "/api/v1/projects/{project}/deployments/{name}/rollback"),
    ("POST", "/api/v1/projects/{project}/deployments/{name}/archive"),
    ("PUT", "/api/v1/projects/{project}/deployments/{name}/segments/uploads"),
    ("POST", "/api/v1/projects/{project}/deployments/{name}/segments"),
    ("GET", "/api/v1/projects/{project}/deployments/{name}/segments"),
    ("GET", "/api/v1/projects/{project}/deployments/{name}/traffic"),
    ("GET", "/api/v1/projects/{project}/deployments/{name}/segments/{segment_id}/file"),
    ("POST", "/api/v1/projects/{project}/deployments/{name}/feedback"),
    ("GET", "/api/v1/projects/{project}/deployments/{name}/feedback"),
    ("POST", "/api/v1/projects/{project}/deployments/{name}/feedback/search"),
    ("POST", "/api/v1/projects/{project}/deployments/{name}/feedback/batch"),
    # storage
    ("POST", "/api/v1/storage/gc"),
    # roles
    ("GET", "/api/v1/roles"),
    ("GET", "/api/v1/roles/{name}"),
    ("GET", "/api/v1/role-documents"),
    ("POST", "/api/v1/role-documents"),
    # monitors and their alerts
    ("GET", "/api/v1/projects/{project}/monitors"),
    ("POST", "/api/v1/projects/{project}/monitors"),
    ("GET", "/api/v1/projects/{project}/monitors/{name}"),
    ("POST", "/api/v1/projects/{project}/monitors/{name}/pause"),
    ("POST", "/api/v1/projects/{project}/monitors/{name}/endpoint"),
    ("POST", "/api/v1/projects/{project}/monitors/{name}/resume"),
    ("POST", "/api/v1/projects/{project}/monitors/{name}/archive"),
    ("GET", "/api/v1/projects/{project}/monitors/{name}/windows"),
    ("GET", "/api/v1/projects/{project}/monitors/{name}/rollups"),
    ("GET", "/api/v1/projects/{project}/monitors/{name}/report"),
    ("POST", "/api/v1/projects/{project}/monitors/{name}/process"),
    ("POST", "/api/v1/projects/{project}/monitors/{name}/checks"),
    ("GET", "/api/v1/projects/{project}/monitors/{name}/checks"),
    ("GET", "/api/v1/projects/{project}/alerts"),
    ("GET", "/api/v1/projects/{project}/alerts/{alert_id}"),
    ("POST", "/api/v1/projects/{project}/alerts/{alert_id}/ack"),
    ("POST", "/api/v1/projects/{project}/alerts/{alert_id}/comments"),
    ("POST", "/api/v1/projects/{project}/alerts/{alert_id}/resolve"),
    # loops
    ("GET", "/api/v1/projects/{project}/loops"),
    ("POST", "/api/v1/projects/{project}/loops"),
    ("GET", "/api/v1/projects/{project}/loops/{name}"),
    ("POST", "/api/v1/projects/{project}/loops/{name}/detach"),
    ("POST", "/api/v1/projects/{project}/loops/{name}/runs"),
    ("POST", "/api/v1/projects/{project}/loop-alerts"),
    ("GET", "/api/v1/projects/{project}/loop-runs"),
    ("POST", "/api/v1/projects/{project}/loop-runs/advance"),
    ("GET", "/api/v1/loop-runs/{run_id}"),
    ("POST", "/api/v1/loop-runs/{run_id}/stop"),
    ("POST", "/api/v1/loop-runs/{run_id}/decide"),
}


def test_openapi_lists_exactly_the_routes(anon: httpx.Client) -> None:
    r = anon.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    routes = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert not routes - EXPECTED_ROUTES, (
        f"routes not in the list: {sorted(routes - EXPECTED_ROUTES)}"
    )
    assert not EXPECTED_ROUTES - routes, f"routes gone: {sorted(EXPECTED_ROUTES - routes)}"
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
