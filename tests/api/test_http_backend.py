"""HttpBackend raises what LocalBackend raises, fails fast, and verifies what it downloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from relayml.client.http import HttpBackend
from relayml.errors import (
    Conflict,
    FilterSyntaxError,
    IntegrityError,
    NotFound,
    PermissionDenied,
    ServerUnavailable,
    Unauthenticated,
)
from relayml.testing.server import ServerInfo, free_port


def test_identity(backend: HttpBackend, server: ServerInfo) -> None:
    assert backend.kind == "http"
    assert backend.user == server.admin_user


def test_bad_or_missing_token_fails_at_construction(server: ServerInfo) -> None:
    with pytest.raises(Unauthenticated, match="the token is unknown"):
        HttpBackend(server.url, "rly_wrong")
    with pytest.raises(Unauthenticated, match="RELAY_TOKEN"):
        HttpBackend(server.url, None)


def test_unreachable_server_is_server_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerUnavailable, match=url.replace(".", r"\.")) as info:
        HttpBackend(url, "token")
    assert "relay server" in info.value.message


def test_errors_come_back_as_the_same_classes(backend: HttpBackend, project: str) -> None:
    with pytest.raises(NotFound):
        backend.tracking.get_run("f" * 32)
    with pytest.raises(Conflict):
        backend.identity.create_project(project)
    with pytest.raises(FilterSyntaxError) as info:
        backend.tracking.search_runs(project=project, filter="params.C = ")
    assert info.value.position == len("params.C = ")


def test_users_tokens_grants(backend: HttpBackend, server: ServerInfo, project: str) -> None:
    issued = backend.identity.create_user(f"ann-{project}", ["stakeholder"], project)
    ann = HttpBackend(server.url, issued.token)
    try:
        assert ann.user == issued.user
        with pytest.raises(PermissionDenied):
            ann.tracking.create_run(project=project, experiment="e")
        backend.identity.grant(issued.user, "data_scientist", project)
        run = ann.tracking.create_run(project=project, experiment="e", params={"lr": 0.1})
        assert run.user == issued.user and run.params == {"lr": "0.1"}
        backend.identity.revoke(issued.user, "data_scientist", project)
        with pytest.raises(PermissionDenied):
            ann.tracking.create_run(project=project, experiment="e")
        users = {u.name: u for u in backend.identity.list_users(project)}
        assert users[issued.user].grants[project] == ["stakeholder"]
        fresh = ann.identity.issue_token(issued.user)
        assert fresh.token != issued.token
        again = HttpBackend(server.url, fresh.token)
        assert again.identity.whoami()["user"] == issued.user
        again.close()
    finally:
        ann.close()
    assert project in [p.name for p in backend.identity.list_projects()]
    assert backend.identity.ensure_project(project).name == project


def test_audit_over_http(backend: HttpBackend, project: str) -> None:
    backend.tracking.create_run(project=project, experiment="e")
    events = backend.audit.log(project=project, action="run.create", limit=5)
    assert [(e.action, e.outcome, e.project) for e in events] == [("run.create", "ok", project)]
    result = backend.audit.verify()
    assert result.ok and result.checked > 0


def test_corrupted_blob_is_refused_on_download(
    backend: HttpBackend, project: str, tmp_path: Path, artifact_root: Path
) -> None:
    run = backend.tracking.create_run(project=project, experiment="e")
    src = tmp_path / "w.bin"
    src.write_bytes(b"original weights " * 1000)
    info = backend.artifacts.log_artifact(run.id, "w.bin", src)
    blob = artifact_root / "sha256" / info.digest[:2] / info.digest[2:]
    data = bytearray(blob.read_bytes())
    data[5] ^= 0xFF  # same size, different bytes: the bit rot a disk can cause
    blob.write_bytes(bytes(data))
    out = tmp_path / "out"
    try:
        with pytest.raises(IntegrityError):
            backend.artifacts.download_artifact(run.id, "w.bin", out / "w.bin")
    finally:
        blob.write_bytes(src.read_bytes())
    assert list(out.iterdir()) == []  # neither the file nor a temp part is left
