"""Migration 0009 MACs a 0008 store's audit trail once, and exports a first checkpoint; a
legacy trail that was already tampered with is left unMACed, so verify keeps saying so."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select

from relayml.domain.audit import GENESIS_HASH, event_hash
from relayml.sdk.session import connect
from relayml.store.sql import engine as eng
from relayml.store.sql import schema as s
from tests.conftest import settings_for

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def _legacy_trail(url: str, tampered: bool) -> str:
    """A 0008 store with a project and three events, as Relay wrote them then."""
    engine = eng.make_engine(url)
    prev = GENESIS_HASH
    with engine.begin() as conn:
        command.upgrade(eng._alembic_config(conn), "0008")
        conn.execute(
            s.projects.insert().values(name="p", description="", created_at=NOW, created_by="a")
        )
        rows = []
        for seq, action in enumerate(["user.create", "project.create", "grant.add"], 1):
            fields: dict[str, Any] = {  # the row as inserted, and event_hash's arguments
                "seq": seq,
                "ts": NOW + timedelta(seconds=seq),
                "actor": "admin",
                "roles": ["admin"],
                "action": action,
                "entity_kind": "x",
                "entity_id": str(seq),
                "project": "*",
                "outcome": "ok",
                "payload_digest": "0" * 64,
                "prev_hash": prev,
            }
            prev = event_hash(**fields)
            rows.append({**fields, "hash": prev})
        if tampered:
            rows[1]["actor"] = "mallory"
        conn.execute(s.audit_events.insert().values(rows))  # without 0009's columns
        conn.execute(s.audit_head.delete())
        conn.execute(s.audit_head.insert().values(id=1, seq=3, hash=prev))
    engine.dispose()
    return prev


@pytest.mark.parametrize("tampered", [False, True], ids=["intact", "tampered"])
def test_upgrade_macs_an_intact_legacy_trail(
    store_url: str, tmp_path: Path, tampered: bool
) -> None:
    head = _legacy_trail(store_url, tampered)
    settings = replace(settings_for(tmp_path, store_url), audit_key="k" * 40)
    backend = connect(settings=settings).backend  # migrates to head on first use
    result = backend.audit.verify()
    engine = backend.services.store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        macs = conn.execute(select(s.audit_events.c.mac).order_by(s.audit_events.c.seq)).all()
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    if tampered:
        assert not result.ok and "no MAC" in result.reason
        assert [m for (m,) in macs[:3]] == ["", "", ""]
        assert not checkpoints.exists()
    else:
        assert result.ok, result
        assert all(m for (m,) in macs)
        first = json.loads(checkpoints.read_text().splitlines()[0])
        assert (first["seq"], first["hash"]) == (3, head)
    backend.close()
