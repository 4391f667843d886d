"""Each RelayError reaches the client with its status and the one error shape."""

from __future__ import annotations

import httpx

from relayml.testing.server import ServerInfo
from tests.api.conftest import error_of, user_client


def test_stakeholder_cannot_create_a_run_and_the_denial_is_audited(
    server: ServerInfo, admin: httpx.Client, project: str
) -> None:
    with user_client(server, admin, "stakeholder", project) as stakeholder:
        r = stakeholder.post(f"/api/v1/projects/{project}/runs", json={"experiment": "e"})
        assert r.status_code == 403
        err = error_of(r)
        assert err["code"] == "permission_denied"
        assert "run.create" in str(err["message"])
        me = stakeholder.get("/api/v1/whoami").json()["user"]
        # ...but reading is allowed
        assert stakeholder.get(f"/api/v1/projects/{project}/runs").status_code == 200
    events = admin.get("/api/v1/audit", params={"actor": me, "project": project}).json()
    denied = [e for e in events if e["action"] == "run.create"]
    assert len(denied) == 1
    assert denied[0]["outcome"] == "denied"
    assert denied[0]["roles"] == ["stakeholder"]
    assert admin.get(f"/api/v1/projects/{project}/runs").json()["runs"] == []


def test_not_found(admin: httpx.Client) -> None:
    r = admin.get(f"/api/v1/runs/{'a' * 32}")
    assert r.status_code == 404
    assert error_of(r)["code"] == "not_found"
    r = admin.get("/api/v1/projects/no-such-project/runs")
    assert r.status_code == 404
    assert "no-such-project" in str(error_of(r)["message"])


def test_unknown_route_and_method_keep_the_error_shape(admin: httpx.Client) -> None:
    r = admin.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert "/docs" in str(error_of(r)["message"])
    r = admin.delete("/api/v1/projects")
    assert r.status_code == 405
    assert "DELETE /api/v1/projects" in str(error_of(r)["message"])


def test_conflict(admin: httpx.Client, project: str, run_id: str) -> None:
    r = admin.post("/api/v1/projects", json={"name": project})
    assert r.status_code == 409
    assert error_of(r)["code"] == "conflict"
    assert admin.post(f"/api/v1/runs/{run_id}/batch", json={"params": {"C": 1}}).is_success
    r = admin.post(f"/api/v1/runs/{run_id}/batch", json={"params": {"C": 2}})
    assert r.status_code == 409
    assert "C" in str(error_of(r)["message"])


def test_invalid_input(admin: httpx.Client, project: str) -> None:
    r = admin.get(f"/api/v1/runs/{'x' * 5}")
    assert r.status_code == 400
    assert "'xxxxx'" in str(error_of(r)["message"])
    r = admin.post("/api/v1/projects", json={"name": "bad name!"})
    assert r.status_code == 400
    assert error_of(r)["code"] == "invalid_input"


def test_filter_syntax_error_points_at_the_position(admin: httpx.Client, project: str) -> None:
    r = admin.get(f"/api/v1/projects/{project}/runs", params={"filter": "metrics.acc >> 1"})
    assert r.status_code == 400
    err = error_of(r)
    assert err["code"] == "filter_syntax"
    assert isinstance(err["details"], dict) and isinstance(err["details"]["position"], int)
    assert "^" in str(err["message"])


def test_body_that_fails_validation_is_422_with_the_field_named(
    admin: httpx.Client, project: str, run_id: str
) -> None:
    r = admin.post(f"/api/v1/projects/{project}/runs", json={"name": "lr"})
    assert r.status_code == 422
    err = error_of(r)
    assert err["code"] == "unprocessable"
    assert "experiment" in str(err["message"]) and "Field required" in str(err["message"])

    r = admin.post(f"/api/v1/runs/{run_id}/batch", json={"metrics": [["loss", "high", 1, 0]]})
    assert r.status_code == 422
    assert "metrics.0.1" in str(error_of(r)["message"])
    assert "'high'" in str(error_of(r)["message"])

    r = admin.post(f"/api/v1/runs/{run_id}/batch", json={"metrcs": []})
    assert r.status_code == 422
    assert "metrcs" in str(error_of(r)["message"])


def test_body_that_is_not_json_is_422(admin: httpx.Client, project: str) -> None:
    r = admin.post(
        f"/api/v1/projects/{project}/runs",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert error_of(r)["code"] == "unprocessable"


def test_out_of_range_limit_is_refused_by_the_service(admin: httpx.Client, project: str) -> None:
    r = admin.get(f"/api/v1/projects/{project}/runs", params={"limit": 0})
    assert r.status_code == 400
    assert "limit" in str(error_of(r)["message"])
