"""The append-only, hash-chained audit log in SQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from relayml.domain.audit import GENESIS_HASH, AuditAction, AuditEvent, EntityKind, event_hash
from relayml.store.sql import schema as s
from relayml.store.sql._util import utc

_HEAD_ID = 1


def _event(row: Any) -> AuditEvent:
    return AuditEvent(
        seq=int(row.seq),
        ts=utc(row.ts),
        actor=row.actor,
        roles=list(row.roles),
        action=row.action,
        entity_kind=row.entity_kind,
        entity_id=row.entity_id,
        project=row.project,
        outcome=row.outcome,
        payload_digest=row.payload_digest,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class SqlAudit:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def append(
        self,
        *,
        actor: str,
        roles: list[str],
        action: AuditAction,
        entity_kind: EntityKind,
        entity_id: str,
        project: str,
        outcome: str,
        payload_digest: str,
        now: datetime,
    ) -> AuditEvent:
        head = self._lock_head()
        seq = head[0] + 1
        fields: dict[str, Any] = {
            "seq": seq,
            "ts": now,
            "actor": actor,
            "roles": sorted(roles),
            "action": action.value,
            "entity_kind": entity_kind.value,
            "entity_id": entity_id,
            "project": project,
            "outcome": outcome,
            "payload_digest": payload_digest,
            "prev_hash": head[1],
        }
        digest = event_hash(**fields)
        self.conn.execute(s.audit_events.insert().values(**fields, hash=digest))
        self.conn.execute(
            s.audit_head.update().where(s.audit_head.c.id == _HEAD_ID).values(seq=seq, hash=digest)
        )
        return AuditEvent(**fields, hash=digest)

    def _lock_head(self) -> tuple[int, str]:
        q = select(s.audit_head.c.seq, s.audit_head.c.hash).where(s.audit_head.c.id == _HEAD_ID)
        row = self.conn.execute(q.with_for_update()).first()
        if row is None:
            # First event ever. Concurrent first writers on PostgreSQL both see no row; the
            # primary key lets only one insert succeed and the other transaction retries.
            self.conn.execute(s.audit_head.insert().values(id=_HEAD_ID, seq=0, hash=GENESIS_HASH))
            return 0, GENESIS_HASH
        return int(row.seq), str(row.hash)

    def head(self) -> tuple[int, str] | None:
        q = select(s.audit_head.c.seq, s.audit_head.c.hash).where(s.audit_head.c.id == _HEAD_ID)
        row = self.conn.execute(q).first()
        return (int(row.seq), str(row.hash)) if row else None

    def query(
        self,
        *,
        entity_kind: EntityKind | None = None,
        entity_id: str | None = None,
        actor: str | None = None,
        project: str | None = None,
        action: AuditAction | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        c = s.audit_events.c
        q = select(s.audit_events).order_by(c.seq.desc()).limit(limit)
        if entity_kind:
            q = q.where(c.entity_kind == entity_kind.value)
        if entity_id:
            q = q.where(c.entity_id == entity_id)
        if actor:
            q = q.where(c.actor == actor)
        if project:
            q = q.where(c.project == project)
        if action:
            q = q.where(c.action == action.value)
        return [_event(r) for r in self.conn.execute(q)]

    def iter_all(self, batch: int = 5000) -> Iterator[AuditEvent]:
        last = 0
        c = s.audit_events.c
        while True:
            q = select(s.audit_events).where(c.seq > last).order_by(c.seq).limit(batch)
            rows = [_event(r) for r in self.conn.execute(q)]
            if not rows:
                return
            yield from rows
            last = rows[-1].seq
