"""Web UI sessions in SQL: one row per sign-in, found by the hash of its secret id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, or_, select, update

from relayml.domain.identity import SessionInfo, TokenInfo
from relayml.store.sql import schema as s
from relayml.store.sql._util import utc, utc_or_none

_S = s.ui_sessions.c
_T = s.tokens.c
# Run on every UI request: the session, the token it was opened with and its user's flag.
_FIND = (
    select(
        _S.user,
        _S.token_id,
        _S.created_at,
        _S.expires_at,
        _S.ended_at,
        _S.last_seen_at,
        _S.end_reason,
        _T.created_at.label("token_created_at"),
        _T.expires_at.label("token_expires_at"),
        _T.revoked_at.label("token_revoked_at"),
        s.users.c.active,
    )
    .join(s.tokens, _T.id == _S.token_id)
    .join(s.users, s.users.c.name == _S.user)
    .where(_S.id_hash == bindparam("id_hash"))
)


class SqlSessions:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self, id_hash: str, token_id: str, user: str, now: datetime, expires_at: datetime
    ) -> None:
        self.conn.execute(
            s.ui_sessions.insert().values(
                id_hash=id_hash,
                token_id=token_id,
                user=user,
                created_at=now,
                expires_at=expires_at,
                ended_at=None,
                last_seen_at=now,
            )
        )

    def find(self, id_hash: str) -> tuple[SessionInfo, TokenInfo, bool] | None:
        """The session, its token and whether its user is active; one statement."""
        row = self.conn.execute(_FIND, {"id_hash": id_hash}).first()
        if row is None:
            return None
        return _session(row), _token(row), bool(row.active)

    def end(self, id_hash: str, now: datetime, reason: str = "signed out") -> bool:
        """End a session (`reason`: 'signed out' or 'idle'); False when it was already ended
        (or is unknown), so of two racing requests one ends it."""
        res = self.conn.execute(
            update(s.ui_sessions)
            .where(_S.id_hash == id_hash, _S.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        )
        return bool(res.rowcount)

    def seen(self, id_hash: str, now: datetime, unless_since: datetime) -> bool:
        """Record activity at `now`, unless the session was seen at or after `unless_since`
        (so a burst of requests writes once) or has ended; whether it wrote."""
        res = self.conn.execute(
            update(s.ui_sessions)
            .where(
                _S.id_hash == id_hash,
                _S.ended_at.is_(None),
                or_(_S.last_seen_at.is_(None), _S.last_seen_at < unless_since),
            )
            .values(last_seen_at=now)
        )
        return bool(res.rowcount)

    def delete_finished(self, before: datetime) -> int:
        """Forget the sessions that expired or were signed out before `before`; how many."""
        res = self.conn.execute(
            delete(s.ui_sessions).where(or_(_S.expires_at < before, _S.ended_at < before))
        )
        return int(res.rowcount or 0)


def _session(row: Any) -> SessionInfo:
    return SessionInfo(
        user=row.user,
        token_id=row.token_id,
        created_at=utc(row.created_at),
        expires_at=utc(row.expires_at),
        ended_at=utc_or_none(row.ended_at),
        last_seen_at=utc_or_none(row.last_seen_at),
        end_reason=row.end_reason,
    )


def _token(row: Any) -> TokenInfo:
    return TokenInfo(
        id=row.token_id,
        user=row.user,
        created_at=utc(row.token_created_at),
        expires_at=utc_or_none(row.token_expires_at),
        revoked_at=utc_or_none(row.token_revoked_at),
    )
