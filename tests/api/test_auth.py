"""Every route but /healthz needs a valid bearer token."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from relayml.store.sql.engine import SCHEMA_HEAD
from relayml.testing.server import ServerInfo
from tests.api.conftest import error_of

RUN = "0" * 32
ROUTES = [
    ("GET", "/api/v1/whoami"),
    ("GET", "/api/v1/projects"),
    ("POST", "/api/v1/projects"),
    ("PUT", "/api/v1/projects/churn"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users/alice/grants"),
    ("POST", "/api/v1/users/alice/deactivate"),
    ("GET", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/0123456789ab"),
    ("GET", "/api/v1/projects/default/runs"),
    ("POST", "/api/v1/projects/default/runs"),
    ("GET", f"/api/v1/runs/{RUN}"),
    ("POST", f"/api/v1/runs/{RUN}/batch"),
    ("GET", f"/api/v1/runs/{RUN}/metrics/loss"),
    ("PUT", f"/api/v1/runs/{RUN}/artifacts/model.bin"),
    ("GET", f"/api/v1/runs/{RUN}/artifacts/model.bin"),
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/audit/verify"),
]
BAD_HEADERS = {
    "no header": {},
    "unknown token": {"Authorization": "Bearer rly_not-a-real-token"},
    "empty bearer": {"Authorization": "Bearer"},
    "no scheme": {"Authorization": "rly_not-a-real-token"},
    "basic auth": {"Authorization": "Basic YWRtaW46YWRtaW4="},
}


def test_healthz_needs_no_token(anon: httpx.Client) -> None:
    r = anon.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "schema_revision": SCHEMA_HEAD}


@pytest.mark.parametrize("method,path", ROUTES)
@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
def test_routes_refuse_callers_without_a_valid_token(
    server: ServerInfo, method: str, path: str, case: str
) -> None:
    with httpx.Client(base_url=server.url) as client:
        r = client.request(method, path, headers=BAD_HEADERS[case], content=b"{}")
    assert r.status_code == 401, r.text
    err = error_of(r)
    assert err["code"] == "unauthenticated"
    assert "Bearer" in str(err["message"]) or "token" in str(err["message"])
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_unknown_token_is_told_how_to_get_one(anon: httpx.Client) -> None:
    r = anon.get("/api/v1/whoami", headers={"Authorization": "Bearer nope"})
    assert "relay tokens issue" in str(error_of(r)["message"])


def test_a_refused_upload_writes_nothing(anon: httpx.Client, artifact_root: Path) -> None:
    root = artifact_root
    before = sorted(root.rglob("*")) if root.exists() else []
    r = anon.put(f"/api/v1/runs/{RUN}/artifacts/a.bin", content=b"payload")
    assert r.status_code == 401
    after = sorted(root.rglob("*")) if root.exists() else []
    assert after == before


def test_a_valid_token_identifies_the_caller(admin: httpx.Client, server: ServerInfo) -> None:
    r = admin.get("/api/v1/whoami")
    assert r.status_code == 200
    assert r.json() == {"user": server.admin_user, "grants": {"*": ["admin"]}}
