"""Over REST the server anchors the trail with its own key: checkpoints are the admin's to take,
go to the server's checkpoint file, and `verify` checks them."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx

from relayml.client.http import HttpBackend
from relayml.testing.server import ServerInfo


def test_admin_checkpoints_and_verify_counts_them(
    backend: HttpBackend, server_home: Path, project: str
) -> None:
    cp = backend.audit.checkpoint()
    lines = (server_home / "audit-checkpoints.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["seq"] == cp.seq and cp.mac
    events = backend.audit.log(action="audit.checkpoint", limit=10)
    assert events[0].entity_id == str(cp.seq)
    result = backend.audit.verify()
    assert result.ok and result.checkpoints >= 2, result  # the first event's and this one


def test_only_an_admin_checkpoints(admin: httpx.Client, server: ServerInfo) -> None:
    name = f"gov-{uuid.uuid4().hex[:6]}"
    made = admin.post(
        "/api/v1/users", json={"name": name, "roles": ["model_governance"], "project": "*"}
    )
    assert made.status_code == 201, made.text
    governance = HttpBackend(server.url, made.json()["token"])
    try:
        assert governance.audit.verify().ok  # may read and verify the trail
        reply = httpx.post(
            f"{server.url}/api/v1/audit/checkpoints",
            headers={"Authorization": f"Bearer {made.json()['token']}"},
        )
        assert reply.status_code == 403 and "audit.checkpoint" in reply.text
    finally:
        governance.close()
