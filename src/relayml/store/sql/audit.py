"""The append-only, hash-chained audit log in SQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, literal, select

from relayml.domain.audit import (
    GENESIS_HASH,
    AuditAction,
    AuditEvent,
    AuditHead,
    AuditKeys,
    EntityKind,
    event_hash,
    head_text,
)
from relayml.errors import IntegrityError
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
        key_id=row.key_id,
        mac=row.mac,
        count=int(row.count),
    )


class SqlAudit:
    def __init__(
        self, conn: Connection, keys: AuditKeys | None = None, *, has_count: bool = True
    ) -> None:
        self.conn = conn
        # `has_count=False` reads a table from before migration 0011 (in migration 0009), whose
        # events all stand for one attempt.
        self._columns: list[Any] = list(s.audit_events.c)
        if not has_count:
            kept = [c for c in self._columns if c.name != "count"]
            self._columns = [*kept, literal(1).label("count")]
        # Without keys (a bare store, e.g. in migration tests) events are written unMACed and
        # `relay audit verify` reports them.
        self.keys = keys
        self.appended: list[AuditEvent] = []  # this transaction's events, for checkpoints

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
        count: int = 1,
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
            "count": count,
        }
        digest = event_hash(**fields)
        key_id, mac = self.keys.sign("event", digest) if self.keys else ("", "")
        head_key, head_mac = (
            self.keys.sign("head", head_text(seq, digest)) if self.keys else ("", "")
        )
        self.conn.execute(
            s.audit_events.insert().values(**fields, hash=digest, key_id=key_id, mac=mac)
        )
        self.conn.execute(
            s.audit_head.update()
            .where(s.audit_head.c.id == _HEAD_ID)
            .values(seq=seq, hash=digest, key_id=head_key, mac=head_mac)
        )
        event = AuditEvent(**fields, hash=digest, key_id=key_id, mac=mac)
        self.appended.append(event)
        return event

    def _lock_head(self) -> tuple[int, str]:
        q = select(s.audit_head.c.seq, s.audit_head.c.hash).where(s.audit_head.c.id == _HEAD_ID)
        row = self.conn.execute(q.with_for_update()).first()
        if row is None:
            if self.conn.execute(select(func.count()).select_from(s.audit_events)).scalar():
                raise IntegrityError(
                    "the audit trail's head row is missing while events exist: the database "
                    "was tampered with, so Relay refuses to write (every write is audited). "
                    "Run `relay audit verify` and restore the database from a backup"
                )
            # First event ever. Concurrent first writers on PostgreSQL both see no row; the
            # primary key lets only one insert succeed and the other transaction retries.
            self.conn.execute(s.audit_head.insert().values(id=_HEAD_ID, seq=0, hash=GENESIS_HASH))
            return 0, GENESIS_HASH
        return int(row.seq), str(row.hash)

    def head(self) -> AuditHead | None:
        h = s.audit_head.c
        row = self.conn.execute(
            select(h.seq, h.hash, h.key_id, h.mac).where(h.id == _HEAD_ID)
        ).first()
        return AuditHead(int(row.seq), str(row.hash), row.key_id, row.mac) if row else None

    def query(
        self,
        *,
        entity_kind: EntityKind | None = None,
        entity_id: str | None = None,
        actor: str | None = None,
        project: str | None = None,
        action: AuditAction | None = None,
        limit: int = 100,
        since: datetime | None = None,
        until: datetime | None = None,
        before: int | None = None,
    ) -> list[AuditEvent]:
        c = s.audit_events.c
        q = select(*self._columns).order_by(c.seq.desc()).limit(limit)
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
        if since is not None:
            q = q.where(c.ts >= since)
        if until is not None:
            q = q.where(c.ts < until)
        if before is not None:
            q = q.where(c.seq < before)
        return [_event(r) for r in self.conn.execute(q)]

    def iter_all(self, batch: int = 5000) -> Iterator[AuditEvent]:
        last = 0
        c = s.audit_events.c
        while True:
            q = select(*self._columns).where(c.seq > last).order_by(c.seq).limit(batch)
            rows = [_event(r) for r in self.conn.execute(q)]
            if not rows:
                return
            yield from rows
            last = rows[-1].seq
