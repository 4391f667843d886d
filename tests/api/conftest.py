"""One real Relay server (a subprocess on 127.0.0.1) for every API test, and clients for it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from relayml.client.http import HttpBackend
from relayml.testing.server import ServerInfo, running_server


@pytest.fixture(scope="session")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api-server")


@pytest.fixture(scope="session")
def server(server_home: Path) -> Iterator[ServerInfo]:
    with running_server(server_home) as info:
        yield info


@pytest.fixture(scope="session")
def artifact_root(server_home: Path) -> Path:
    return server_home / "artifacts"


def _client(url: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=30)


@pytest.fixture(scope="session")
def admin(server: ServerInfo) -> Iterator[httpx.Client]:
    with _client(server.url, server.admin_token) as client:
        yield client


@pytest.fixture(scope="session")
def anon(server: ServerInfo) -> Iterator[httpx.Client]:
    with _client(server.url, None) as client:
        yield client


@pytest.fixture(scope="session")
def backend(server: ServerInfo) -> Iterator[HttpBackend]:
    b = HttpBackend(server.url, server.admin_token)
    yield b
    b.close()


@pytest.fixture
def project(admin: httpx.Client) -> str:
    """A fresh project per test, so tests never see each other's runs."""
    name = f"p-{uuid.uuid4().hex[:8]}"
    assert admin.post("/api/v1/projects", json={"name": name}).status_code == 201
    return name


@pytest.fixture
def run_id(admin: httpx.Client, project: str) -> str:
    r = admin.post(f"/api/v1/projects/{project}/runs", json={"experiment": "e"})
    assert r.status_code == 201, r.text
    run: str = r.json()["id"]
    return run


def user_client(server: ServerInfo, admin: httpx.Client, role: str, project: str) -> httpx.Client:
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    r = admin.post("/api/v1/users", json={"name": name, "roles": [role], "project": project})
    assert r.status_code == 201, r.text
    return _client(server.url, r.json()["token"])


def error_of(response: httpx.Response) -> dict[str, object]:
    """The `{"error": {...}}` body every failure carries."""
    body = response.json()
    assert set(body) == {"error"}, body
    err: dict[str, object] = body["error"]
    assert set(err) == {"code", "message", "details"}, err
    assert isinstance(err["message"], str) and err["message"]
    return err
