"""Tokens end: revoked, expired, or their user deactivated or left without a role, they are
refused (401) by every server process within the token cache's bound. All of it is audited in
the projects concerned. Two real servers share one database here, as replicas would."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from relayml.testing.server import ServerInfo, running_server
from tests.api.conftest import error_of

BOUND = 1.0  # RELAY_AUTH_CACHE_SECONDS of both servers
SLACK = 30.0  # what a loaded machine may add to a request; the bound itself is the TTL


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerInfo, ServerInfo]]:
    home = tmp_path_factory.mktemp("replicas")
    env = {"RELAY_AUTH_CACHE_SECONDS": str(BOUND)}
    with ExitStack() as stack:
        a = stack.enter_context(running_server(home, env=env))
        # a second process on the same stores, as a replica behind a load balancer would be
        b = stack.enter_context(running_server(home, env=env, admin_token=a.admin_token))
        yield a, b


def _client(server: ServerInfo, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


@pytest.fixture(scope="module")
def admin(replicas: tuple[ServerInfo, ServerInfo]) -> Iterator[httpx.Client]:
    with _client(replicas[0], replicas[0].admin_token) as c:
        yield c


@pytest.fixture
def project(admin: httpx.Client) -> str:
    name = f"p-{uuid.uuid4().hex[:8]}"
    assert admin.post("/api/v1/projects", json={"name": name}).status_code == 201
    return name


def _new_user(admin: httpx.Client, project: str, role: str = "data_scientist", **body: str) -> dict:
    name = f"u-{uuid.uuid4().hex[:8]}"
    r = admin.post(
        "/api/v1/users", json={"name": name, "roles": [role], "project": project, **body}
    )
    assert r.status_code == 201, r.text
    created: dict = r.json()
    return created


def _refused_within_bound(server: ServerInfo, token: str, started: float) -> str:
    """Poll whoami until 401; fail if it takes longer than the bound (plus request slack)."""
    with _client(server, token) as c:
        while True:
            r = c.get("/api/v1/whoami")
            if r.status_code == 401:
                return str(error_of(r)["message"])
            assert r.status_code == 200, r.text
            assert time.monotonic() - started < BOUND + SLACK, "still accepted past the bound"
            time.sleep(0.1)


def _warm(servers: tuple[ServerInfo, ServerInfo], token: str) -> None:
    """Both servers have the token in their cache."""
    for server in servers:
        with _client(server, token) as c:
            assert c.get("/api/v1/whoami").status_code == 200


def test_a_revoked_token_is_refused_by_every_server(
    replicas: tuple[ServerInfo, ServerInfo], admin: httpx.Client, project: str
) -> None:
    user = _new_user(admin, project)
    _warm(replicas, user["token"])
    started = time.monotonic()
    r = admin.delete(f"/api/v1/tokens/{user['token_id']}")
    assert r.status_code == 200 and r.json()["revoked_at"], r.text
    # the server that revoked it refuses it at once; the other within its cache's bound
    with _client(replicas[0], user["token"]) as c:
        assert c.get("/api/v1/whoami").status_code == 401
    assert "revoked" in _refused_within_bound(replicas[1], user["token"], started)
    # the user's other tokens still work: revocation is per token
    fresh = admin.post(f"/api/v1/users/{user['user']}/tokens", json={"expires": "1d"})
    assert fresh.status_code == 201
    with _client(replicas[1], fresh.json()["token"]) as c:
        assert c.get("/api/v1/whoami").status_code == 200


def test_an_expired_token_is_refused(
    replicas: tuple[ServerInfo, ServerInfo], admin: httpx.Client, project: str
) -> None:
    user = _new_user(admin, project, expires="3s")
    expires_at = datetime.fromisoformat(user["expires_at"])
    with _client(replicas[1], user["token"]) as c:
        r = c.get("/api/v1/whoami")
        if datetime.now(UTC) < expires_at:  # a very slow machine may already be past it
            assert r.status_code == 200, r.text
    wait = (expires_at - datetime.now(UTC)).total_seconds()
    time.sleep(max(wait, 0))
    for server in replicas:  # an entry never outlives its token: no bound to wait for
        with _client(server, user["token"]) as c:
            r = c.get("/api/v1/whoami")
        assert r.status_code == 401 and "expired" in str(error_of(r)["message"]), r.text


def test_a_deactivated_user_is_refused_until_reactivated(
    replicas: tuple[ServerInfo, ServerInfo], admin: httpx.Client, project: str
) -> None:
    user = _new_user(admin, project)
    _warm(replicas, user["token"])
    started = time.monotonic()
    r = admin.post(f"/api/v1/users/{user['user']}/deactivate")
    assert r.status_code == 200 and r.json()["active"] is False, r.text
    assert "deactivated" in _refused_within_bound(replicas[1], user["token"], started)
    r = admin.post(f"/api/v1/users/{user['user']}/tokens")
    assert r.status_code == 409 and "deactivated" in str(error_of(r)["message"])
    assert admin.post(f"/api/v1/users/{user['user']}/activate").json()["active"] is True
    with _client(replicas[0], user["token"]) as c:
        assert c.get("/api/v1/whoami").status_code == 200


def test_a_user_without_roles_cannot_authenticate_nor_mint_tokens(
    replicas: tuple[ServerInfo, ServerInfo], admin: httpx.Client, project: str
) -> None:
    user = _new_user(admin, project)
    _warm(replicas, user["token"])
    started = time.monotonic()
    r = admin.delete(
        f"/api/v1/users/{user['user']}/grants/data_scientist", params={"project": project}
    )
    assert r.status_code == 204, r.text
    assert "holds no role" in _refused_within_bound(replicas[1], user["token"], started)
    with _client(replicas[1], user["token"]) as c:
        assert c.post(f"/api/v1/users/{user['user']}/tokens").status_code == 401


def test_tokens_expire_by_default_and_never_past_the_maximum(
    admin: httpx.Client, project: str
) -> None:
    user = _new_user(admin, project)
    lifetime = datetime.fromisoformat(user["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=89) < lifetime <= timedelta(days=90)
    r = admin.post(f"/api/v1/users/{user['user']}/tokens", json={"expires": "400d"})
    assert r.status_code == 400 and "maximum of 365d" in str(error_of(r)["message"])
    r = admin.post(f"/api/v1/users/{user['user']}/tokens", json={"expires": "soon"})
    assert r.status_code == 400 and "90d" in str(error_of(r)["message"])


def test_tokens_are_listed_without_their_secrets(
    replicas: tuple[ServerInfo, ServerInfo], admin: httpx.Client, project: str
) -> None:
    user = _new_user(admin, project)
    second = admin.post(f"/api/v1/users/{user['user']}/tokens", json={"expires": "30d"}).json()
    assert admin.delete(f"/api/v1/tokens/{user['token_id']}").status_code == 200
    listed = admin.get("/api/v1/tokens", params={"user": user["user"]}).json()
    assert [t["id"] for t in listed] == [user["token_id"], second["token_id"]]
    assert listed[0]["revoked_at"] and not listed[1]["revoked_at"]
    assert all(set(t) == {"id", "user", "created_at", "expires_at", "revoked_at"} for t in listed)
    # a user sees and revokes their own tokens, never another's
    with _client(replicas[0], second["token"]) as me:
        mine = me.get("/api/v1/tokens", params={"user": user["user"]})
        assert [t["id"] for t in mine.json()] == [user["token_id"], second["token_id"]]
        assert me.get("/api/v1/tokens").json() == mine.json()  # without ?user=: their own
        assert me.get("/api/v1/tokens", params={"user": "admin"}).status_code == 403
        other = _new_user(admin, project)
        assert me.delete(f"/api/v1/tokens/{other['token_id']}").status_code == 403
        assert me.delete(f"/api/v1/tokens/{second['token_id']}").status_code == 200
        assert me.get("/api/v1/whoami").status_code == 401


def test_token_and_user_events_are_audited_in_the_users_projects(
    admin: httpx.Client, project: str, replicas: tuple[ServerInfo, ServerInfo]
) -> None:
    """A project's governance reader sees who got, lost or was refused access there."""
    gov = _new_user(admin, project, role="model_governance")
    user = _new_user(admin, project)
    name = user["user"]
    assert admin.post(f"/api/v1/users/{name}/tokens").status_code == 201
    assert admin.delete(f"/api/v1/tokens/{user['token_id']}").status_code == 200
    assert admin.post(f"/api/v1/users/{name}/deactivate").status_code == 200
    with _client(replicas[0], gov["token"]) as reader:
        r = reader.get("/api/v1/audit", params={"project": project, "entity_id": name})
    assert r.status_code == 200, r.text
    actions = [e["action"] for e in r.json()]
    assert actions == ["user.deactivate", "token.revoke", "token.issue", "token.issue",
                       "user.manage"]  # fmt: skip
    assert all(e["project"] == project for e in r.json())
