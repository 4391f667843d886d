"""Schedule claims in SQL: one row per (kind, project, name)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from relayml.domain.scheduling import ScheduleKey
from relayml.store.sql import schema as s
from relayml.store.sql._util import utc_or_none

_c = s.schedule_claims.c


def _where(key: ScheduleKey) -> tuple[object, ...]:
    return (_c.kind == key.kind.value, _c.project == key.project, _c.name == key.name)


class SqlSchedules:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def state(self, key: ScheduleKey) -> tuple[datetime | None, datetime | None] | None:
        """(since, last_slot) of the schedule, or None if it has no row."""
        row = self.conn.execute(
            select(_c.since, _c.last_slot).where(*_where(key))  # type: ignore[arg-type]
        ).first()
        return (utc_or_none(row.since), utc_or_none(row.last_slot)) if row else None

    def restart(self, key: ScheduleKey, since: datetime) -> None:
        """A new or changed schedule: due slots count from `since`; no slot is claimed yet."""
        self.remove(key)
        self.conn.execute(
            insert(s.schedule_claims).values(
                kind=key.kind.value, project=key.project, name=key.name, since=since
            )
        )

    def remove(self, key: ScheduleKey) -> None:
        self.conn.execute(delete(s.schedule_claims).where(*_where(key)))  # type: ignore[arg-type]

    def claim(self, key: ScheduleKey, slot: datetime, by: str, now: datetime) -> bool:
        """Claim `slot` unless it or a later slot already was: exactly one caller wins."""
        claimed = {"last_slot": slot, "claimed_at": now, "claimed_by": by}
        done = self.conn.execute(
            update(s.schedule_claims)
            .where(*_where(key), or_(_c.last_slot.is_(None), _c.last_slot < slot))  # type: ignore[arg-type]
            .values(**claimed)
        )
        if done.rowcount:
            return True
        if self.state(key) is not None:
            return False  # this slot or a later one was claimed first
        try:  # the first claim of a schedule that was never restarted
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(s.schedule_claims).values(
                        kind=key.kind.value, project=key.project, name=key.name, **claimed
                    )
                )
        except IntegrityError:
            return False  # a racing scheduler inserted it first
        return True
