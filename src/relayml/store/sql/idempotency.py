"""Request ids: each (user, key) is claimed once, then holds the answer it got."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from relayml.store.sql import schema as s
from relayml.store.sql._util import utc


class SqlIdempotency:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def find(
        self, user: str, key: str
    ) -> tuple[str, str, int | None, bytes | None, str | None, datetime] | None:
        """(method, path, status, body, content type, created) of a claimed key."""
        k = s.idempotency_keys.c
        row = self.conn.execute(
            select(k.method, k.path, k.status, k.body, k.content_type, k.created_at).where(
                k.user == user, k.key == key
            )
        ).first()
        if row is None:
            return None
        return row[0], row[1], row[2], row[3], row[4], utc(row[5])

    def claim(self, user: str, key: str, method: str, path: str, now: datetime) -> bool:
        """Claim a new key for a request now starting; False if it was claimed already."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(s.idempotency_keys).values(
                        user=user, key=key, method=method, path=path, created_at=now
                    )
                )
        except SAIntegrityError:
            return False
        return True

    def restart(self, user: str, key: str, now: datetime) -> None:
        """Take over a claim whose first attempt never answered (its process died)."""
        k = s.idempotency_keys.c
        self.conn.execute(
            update(s.idempotency_keys)
            .where(k.user == user, k.key == key, k.status.is_(None))
            .values(created_at=now)
        )

    def finish(
        self, user: str, key: str, status: int, body: bytes | None, content_type: str | None
    ) -> None:
        k = s.idempotency_keys.c
        self.conn.execute(
            update(s.idempotency_keys)
            .where(k.user == user, k.key == key)
            .values(status=status, body=body, content_type=content_type)
        )

    def release(self, user: str, key: str) -> None:
        k = s.idempotency_keys.c
        self.conn.execute(
            delete(s.idempotency_keys).where(k.user == user, k.key == key, k.status.is_(None))
        )

    def expire(self, before: datetime) -> int:
        k = s.idempotency_keys.c
        result = self.conn.execute(delete(s.idempotency_keys).where(k.created_at < before))
        return int(result.rowcount or 0)
