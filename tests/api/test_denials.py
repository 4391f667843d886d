"""Denied calls are kept as evidence without flooding the audit trail (issue 9 item 16): 300
identical denied reads leave a bounded number of events whose counts add up to 300, and the
chain, MACs and checkpoints still verify."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from relayml.sdk.session import connect
from relayml.services.denials import DenialLimiter
from relayml.testing.server import running_server
from tests.api.conftest import user_client
from tests.cli.conftest import Relay
from tests.conftest import settings_for


def test_300_denied_reads_leave_a_bounded_number_of_events_with_the_count(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with running_server(home) as info:
        headers = {"Authorization": f"Bearer {info.admin_token}"}
        with httpx.Client(base_url=info.url, headers=headers, timeout=30) as admin:
            mine, theirs = (f"p-{uuid.uuid4().hex[:8]}" for _ in range(2))
            for p in (mine, theirs):
                assert admin.post("/api/v1/projects", json={"name": p}).status_code == 201
            with user_client(info, admin, "stakeholder", mine) as outsider:
                user = outsider.get("/api/v1/whoami").json()["user"]
                for _ in range(300):
                    assert outsider.get(f"/api/v1/projects/{theirs}/runs").status_code == 403
            while_running = admin.get("/api/v1/audit", params={"actor": user}).json()
            assert [(e["outcome"], e["count"]) for e in while_running] == [("denied", 1)]
    # The server stopped (SIGTERM): the window's count is written, MACed like any event.
    backend = connect(settings=settings_for(home)).backend
    try:
        denied = [e for e in backend.audit.log(actor=user, limit=1000) if e.outcome == "denied"]
        assert len(denied) == 2
        assert sorted(e.count for e in denied) == [1, 299]
        assert {(e.action, e.project) for e in denied} == {("run.read", theirs)}
        result = backend.audit.verify()
        assert result.ok, result
    finally:
        backend.close()
    shown = Relay(home)("audit", "log", "--actor", user)
    assert shown.code == 0, shown.err
    assert "denied x299" in shown.out


def test_a_window_that_is_over_writes_its_count_with_the_next_denial() -> None:
    now = [0.0]
    limiter = DenialLimiter(window=60, clock=lambda: now[0])
    record = {"actor": "eve", "action": "run.read", "project": "p", "entity_kind": "project",
              "entity_id": "p"}  # fmt: skip
    other = {**record, "actor": "mallory"}
    written = limiter.admit(record)
    assert written == [record]
    for _ in range(9):
        assert limiter.admit(record) == []
    now[0] = 61.0
    assert limiter.admit(other) == [{**record, "count": 9}, other]  # eve's window closed
    assert limiter.admit(record) == [record]  # a new window for eve
    assert limiter.flush() == []  # nothing repeated in the open windows
