"""Artifacts over HTTP: digests checked both ways, paths kept inside the artifact root."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from relayml.client.http import HttpBackend
from relayml.errors import InvalidInput
from relayml.testing.server import ServerInfo
from tests.api.conftest import error_of


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def raw_put(server: ServerInfo, path: str, body: bytes) -> tuple[int, dict[str, object]]:
    """PUT with the path sent exactly as given: httpx would normalise '..' segments away."""
    conn = http.client.HTTPConnection(urlsplit(server.url).netloc, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {server.admin_token}"}
        headers["X-Relay-Digest"] = sha(body)
        conn.request("PUT", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_upload_list_download_round_trip(admin: httpx.Client, run_id: str) -> None:
    data = os.urandom(50_000)
    url = f"/api/v1/runs/{run_id}/artifacts/model/weights.bin"
    r = admin.put(url, content=data, headers={"X-Relay-Digest": sha(data)})
    assert r.status_code == 201, r.text
    assert r.json() == {"path": "model/weights.bin", "digest": sha(data), "size": len(data)}
    listed = admin.get(f"/api/v1/runs/{run_id}/artifacts", params={"prefix": "model/"}).json()
    assert listed == [r.json()]
    assert admin.get(f"/api/v1/runs/{run_id}/artifacts", params={"prefix": "other/"}).json() == []
    got = admin.get(url)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["X-Relay-Digest"] == sha(data)
    assert got.headers["content-length"] == str(len(data))


def test_upload_without_a_digest_is_hashed_by_the_server(admin: httpx.Client, run_id: str) -> None:
    r = admin.put(f"/api/v1/runs/{run_id}/artifacts/notes.txt", content=b"hello")
    assert r.status_code == 201
    assert r.json()["digest"] == sha(b"hello")


def test_http_backend_streams_large_files_both_ways(
    backend: HttpBackend, project: str, tmp_path: Path
) -> None:
    run = backend.tracking.create_run(project=project, experiment="e")
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(3 * (1 << 20) + 17))  # several chunks, not a multiple of one
    info = backend.artifacts.log_artifact(run.id, "data/big.bin", src)
    assert (info.path, info.size) == ("data/big.bin", src.stat().st_size)
    assert info.digest == sha(src.read_bytes())
    assert backend.artifacts.list_artifacts(run.id) == [info]
    dest = backend.artifacts.download_artifact(run.id, "data/big.bin", tmp_path / "out" / "big.bin")
    assert dest.read_bytes() == src.read_bytes()
    assert sorted(p.name for p in dest.parent.iterdir()) == ["big.bin"]  # no temp left over


@pytest.mark.parametrize(
    "bad",
    ["../x", "%2e%2e/x", "%2E%2E/%2E%2E/x", "a/../../x", "..%2fx", "/abs/x", "%2Fabs/x", "./x"],
)
def test_path_traversal_is_refused(
    server: ServerInfo, run_id: str, bad: str, server_home: Path, artifact_root: Path
) -> None:
    outside = server_home.parent
    before_outside = files_under(outside) - files_under(server_home)
    before_root = files_under(artifact_root)
    status, body = raw_put(server, f"/api/v1/runs/{run_id}/artifacts/{bad}", b"escape")
    assert status == 400, body
    assert body["error"]["code"] == "invalid_input"  # type: ignore[index]
    assert files_under(artifact_root) == before_root
    assert files_under(outside) - files_under(server_home) == before_outside
    assert not (outside / "x").exists() and not Path("/abs/x").exists()


def test_http_backend_refuses_traversal_before_sending(backend: HttpBackend, run_id: str) -> None:
    for bad in ("../x", "/etc/passwd", "a/../../x"):
        with pytest.raises(InvalidInput, match="artifact path"):
            backend.artifacts.list_artifacts(run_id, prefix=bad)
        with pytest.raises(InvalidInput, match="artifact path"):
            backend.artifacts.download_artifact(run_id, bad, "unused")


def test_upload_with_a_wrong_digest_is_refused_and_nothing_recorded(
    admin: httpx.Client, run_id: str, artifact_root: Path
) -> None:
    before = files_under(artifact_root)
    data = b"the bytes that arrived"
    r = admin.put(
        f"/api/v1/runs/{run_id}/artifacts/model.bin",
        content=data,
        headers={"X-Relay-Digest": sha(b"the bytes the client meant to send")},
    )
    assert r.status_code == 400
    err = error_of(r)
    assert sha(data) in str(err["message"])
    assert files_under(artifact_root) == before  # no blob, no leftover temp file
    assert admin.get(f"/api/v1/runs/{run_id}/artifacts").json() == []
    events = admin.get("/api/v1/audit", params={"entity_id": run_id}).json()
    assert [e["action"] for e in events] == ["run.create"]


def test_malformed_digest_header_is_400(admin: httpx.Client, run_id: str) -> None:
    r = admin.put(
        f"/api/v1/runs/{run_id}/artifacts/a.bin", content=b"x", headers={"X-Relay-Digest": "abc"}
    )
    assert r.status_code == 400
    assert "'abc'" in str(error_of(r)["message"])


def test_missing_artifact_is_404(admin: httpx.Client, run_id: str) -> None:
    r = admin.get(f"/api/v1/runs/{run_id}/artifacts/nope.bin")
    assert r.status_code == 404
    assert "nope.bin" in str(error_of(r)["message"])
