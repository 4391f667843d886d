"""The same CLI against a real `relay server` on 127.0.0.1 (RELAY_SERVER_URL + RELAY_TOKEN)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from relayml.testing.server import ServerInfo, running_server
from relayml.wire import DIGEST_HEADER
from tests.cli.conftest import Relay, one_error_line


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    with running_server(tmp_path_factory.mktemp("server") / "home") as info:
        yield info


@pytest.fixture
def remote(relay: Relay, server: ServerInfo) -> Relay:
    relay.env.update(RELAY_SERVER_URL=server.url, RELAY_TOKEN=server.admin_token)
    return relay


def test_whoami_over_http(remote: Relay, server: ServerInfo) -> None:
    me = remote("whoami", "--json").json()
    assert me["user"] == server.admin_user
    assert me["backend"] == "http"
    assert not (remote.home / "relay.db").exists(), "remote mode must not open a local store"


def test_users_and_denial_over_http(remote: Relay) -> None:
    name = f"sam-{uuid.uuid4().hex[:8]}"
    created = remote("users", "create", name, "--role", "stakeholder")
    assert created.code == 0, created.err
    token = remote.token_from(created)
    denied = remote("projects", "create", "nope", RELAY_TOKEN=token)
    assert denied.code == 4
    assert "project.create" in one_error_line(denied)


def test_errors_over_http_keep_their_exit_codes(remote: Relay) -> None:
    missing = remote("runs", "show", "0123456789abcdef0123456789abcdef")
    assert missing.code == 5
    one_error_line(missing)
    bad = remote("runs", "ls", "--filter", "params.C ==")
    assert bad.code == 2
    assert "^" in one_error_line(bad)
    assert remote("audit", "verify").code == 0


def test_db_upgrade_refused_over_http(remote: Relay) -> None:
    result = remote("db", "upgrade")
    assert result.code == 2
    one_error_line(result)


def test_unreachable_server_exits_11(relay: Relay) -> None:
    from relayml.testing.server import free_port

    url = f"http://127.0.0.1:{free_port()}"
    result = relay("whoami", RELAY_SERVER_URL=url, RELAY_TOKEN="rly_x")
    assert result.code == 11
    assert "127.0.0.1" in one_error_line(result)


def test_relay_server_serves_the_embedded_store(relay: Relay) -> None:
    """Bootstrap: a platform admin token made embedded, then `relay server` on the same home."""
    import subprocess
    import sys
    import time

    import httpx

    from relayml.testing.server import free_port

    created = relay("users", "create", "ops", "--role", "admin", "--project", "*")
    assert created.code == 0, created.err
    token = relay.token_from(created)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "relayml.cli.app", "server", "--port", str(port)],
        env=relay.env,
        cwd=relay.home.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "relay server did not become healthy"
            time.sleep(0.1)
        me = relay("whoami", "--json", RELAY_SERVER_URL=url, RELAY_TOKEN=token).json()
        assert me == {"user": "ops", "grants": {"*": ["admin"]}, "backend": "http"}
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        if proc.stdout:
            proc.stdout.close()


def test_runs_show_json_is_what_rest_returns(relay: Relay, tmp_path: Path) -> None:
    """`relay runs show ID --json` prints the run exactly as `GET /runs/ID` writes it (plus its
    artifacts as `GET /runs/ID/artifacts` lists them), over http and embedded alike, NaN and
    infinities as the same strings."""
    import hashlib

    import httpx

    home = tmp_path / "served"
    with running_server(home) as info:
        headers = {"Authorization": f"Bearer {info.admin_token}"}
        with httpx.Client(base_url=info.url, headers=headers, timeout=60) as api:
            assert api.post("/api/v1/projects", json={"name": "p"}).status_code == 201
            params = {"C": 0.5, "solver": "lbfgs"}
            body = {"experiment": "e", "name": "r", "params": params, "tags": {"team": "risk"}}
            run_id = api.post("/api/v1/projects/p/runs", json=body).json()["id"]
            ts = 1_700_000_000_000
            points = [["loss", 0.25, 1, ts], ["bad", "NaN", 0, ts], ["low", "-Infinity", 0, ts]]
            r = api.post(f"/api/v1/runs/{run_id}/batch", json={"metrics": points})
            assert r.status_code == 200, r.text
            data = b"hello\n"
            digest = {DIGEST_HEADER: hashlib.sha256(data).hexdigest()}
            r = api.put(f"/api/v1/runs/{run_id}/artifacts/notes.txt", content=data, headers=digest)
            assert r.status_code == 201, r.text
            assert api.post(f"/api/v1/runs/{run_id}/end", json={}).status_code == 200
            rest = api.get(f"/api/v1/runs/{run_id}").json()
            listed = api.get(f"/api/v1/runs/{run_id}/artifacts").json()
        assert rest["metrics"] == {"loss": 0.25, "bad": "NaN", "low": "-Infinity"}
        assert [a["path"] for a in listed] == ["notes.txt"]

        relay.env.update(RELAY_SERVER_URL=info.url, RELAY_TOKEN=info.admin_token)
        over_http = relay("runs", "show", run_id, "--json")
        assert over_http.code == 0, over_http.err
        assert over_http.json() == {**rest, "artifacts": listed}

    embedded = Relay(home)
    embedded.env.update(RELAY_USER=info.admin_user)
    shown = embedded("runs", "show", run_id, "--json")
    assert shown.code == 0, shown.err
    assert shown.json() == {**rest, "artifacts": listed}
    ended = embedded("runs", "ls", "--project", "p", "--json")
    assert ended.json() == [rest]
