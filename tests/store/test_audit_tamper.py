"""Editing, deleting or reordering audit rows directly in the database is caught by verify."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from relayml.client.local import LocalBackend
from relayml.sdk.session import connect
from tests.conftest import settings_for


def _populated(home: Path, url: str) -> LocalBackend:
    backend = connect(settings=settings_for(home, url), project="audited").backend
    assert isinstance(backend, LocalBackend)
    for i in range(3):
        run = backend.create_run(project="audited", experiment="e", params={"i": i})
        backend.end_run(run.id)
    assert backend.audit_verify().ok
    return backend


def _exec(backend: LocalBackend, sql: str) -> None:
    engine = backend.services.store.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(text(sql))


def test_intact_chain_verifies(store_url: str, tmp_path: Path) -> None:
    backend = _populated(tmp_path, store_url)
    result = backend.audit_verify()
    assert result.ok and result.checked == len(backend.audit_log(limit=1000))
    backend.close()


def test_edited_event_is_caught(store_url: str, tmp_path: Path) -> None:
    backend = _populated(tmp_path, store_url)
    _exec(backend, "UPDATE audit_events SET actor = 'someone-else' WHERE seq = 4")
    result = backend.audit_verify()
    assert not result.ok and result.first_bad_seq == 4 and "changed" in result.reason
    backend.close()


def test_deleted_event_is_caught(store_url: str, tmp_path: Path) -> None:
    backend = _populated(tmp_path, store_url)
    _exec(backend, "DELETE FROM audit_events WHERE seq = 3")
    result = backend.audit_verify()
    assert not result.ok and result.first_bad_seq == 3 and "missing" in result.reason
    backend.close()


def test_deleted_tail_is_caught(store_url: str, tmp_path: Path) -> None:
    backend = _populated(tmp_path, store_url)
    last = backend.audit_log(limit=1)[0].seq
    _exec(backend, f"DELETE FROM audit_events WHERE seq = {last}")
    result = backend.audit_verify()
    assert not result.ok and result.first_bad_seq == last
    backend.close()


def test_reordered_events_are_caught(store_url: str, tmp_path: Path) -> None:
    backend = _populated(tmp_path, store_url)
    _exec(backend, "UPDATE audit_events SET seq = -1 WHERE seq = 5")
    _exec(backend, "UPDATE audit_events SET seq = 5 WHERE seq = 6")
    _exec(backend, "UPDATE audit_events SET seq = 6 WHERE seq = -1")
    result = backend.audit_verify()
    assert not result.ok and result.first_bad_seq == 5
    backend.close()


def test_rewritten_hash_still_breaks_the_link(store_url: str, tmp_path: Path) -> None:
    """Recomputing an edited event's own hash does not help: the next event links to the old."""
    from relayml.domain.audit import event_hash

    backend = _populated(tmp_path, store_url)
    ev = next(e for e in backend.audit_log(limit=1000) if e.seq == 4)
    forged = event_hash(
        seq=4, ts=ev.ts, actor="forger", roles=ev.roles, action=ev.action,
        entity_kind=ev.entity_kind, entity_id=ev.entity_id, project=ev.project,
        outcome=ev.outcome, payload_digest=ev.payload_digest, prev_hash=ev.prev_hash,
    )  # fmt: skip
    _exec(backend, f"UPDATE audit_events SET actor = 'forger', hash = '{forged}' WHERE seq = 4")
    result = backend.audit_verify()
    assert not result.ok and result.first_bad_seq == 5
    backend.close()


@pytest.mark.parametrize("outcome", ["denied"])
def test_denied_attempts_are_in_the_chain(tmp_path: Path, outcome: str) -> None:
    settings = settings_for(tmp_path)
    admin = connect(settings=settings, project="p").backend
    viewer = connect(settings=settings, token=admin.create_user("v", ["stakeholder"], "p").token)
    with pytest.raises(Exception, match=r"run\.create"):
        viewer.backend.create_run(project="p", experiment="e")
    events = admin.audit_log(actor="v")
    assert [(e.action, e.outcome) for e in events] == [("run.create", outcome)]
    assert admin.audit_verify().ok
    admin.close()
    viewer.backend.close()
