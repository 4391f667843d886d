"""Schedule claims in SQL: one row per (kind, project, name)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from relayml.domain.scheduling import Pause, ScheduleKey, ScheduleState
from relayml.store.sql import schema as s
from relayml.store.sql._util import utc, utc_or_none

_c = s.schedule_claims.c


def _where(key: ScheduleKey) -> tuple[Any, ...]:
    return (_c.kind == key.kind.value, _c.project == key.project, _c.name == key.name)


def pause_of(row: Any) -> Pause | None:
    """The pause recorded on a row that selected `paused_at`, `paused_by`, `pause_reason`."""
    if row.paused_at is None:
        return None
    return Pause(row.paused_by or "", utc(row.paused_at), row.pause_reason or "")


class SqlSchedules:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def state(self, key: ScheduleKey) -> ScheduleState | None:
        """The schedule's claim state, or None if it has no row."""
        row = self.conn.execute(
            select(_c.since, _c.last_slot, _c.paused_at, _c.paused_by, _c.pause_reason).where(
                *_where(key)
            )
        ).first()
        if row is None:
            return None
        return ScheduleState(utc_or_none(row.since), utc_or_none(row.last_slot), pause_of(row))

    def restart(self, key: ScheduleKey, since: datetime | None) -> None:
        """A new or changed schedule: due slots count from `since`, no slot is claimed yet.
        `since` None: the thing has no schedule now. A pause is kept either way (a new cron
        in the code does not undo a person's pause)."""
        done = self.conn.execute(
            update(s.schedule_claims)
            .where(*_where(key))
            .values(since=since, last_slot=None, claimed_at=None, claimed_by=None)
        )
        if done.rowcount == 0 and since is not None:
            self.conn.execute(
                insert(s.schedule_claims).values(
                    kind=key.kind.value, project=key.project, name=key.name, since=since
                )
            )

    def pause(self, key: ScheduleKey, pause: Pause) -> bool:
        """Pause the schedule; False if it is paused already."""
        values = {"paused_at": pause.at, "paused_by": pause.by, "pause_reason": pause.reason}
        done = self.conn.execute(
            update(s.schedule_claims).where(*_where(key), _c.paused_at.is_(None)).values(**values)
        )
        if done.rowcount:
            return True
        if self.state(key) is not None:
            return False
        try:  # a schedule that never had a row (nothing was claimed or set yet)
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(s.schedule_claims).values(
                        kind=key.kind.value, project=key.project, name=key.name, **values
                    )
                )
        except IntegrityError:
            return False  # a racing pause inserted it first
        return True

    def resume(self, key: ScheduleKey, since: datetime) -> bool:
        """Resume a paused schedule; slots up to `since` (the resume) are not due. False if
        it was not paused."""
        done = self.conn.execute(
            update(s.schedule_claims)
            .where(*_where(key), _c.paused_at.is_not(None))
            .values(paused_at=None, paused_by=None, pause_reason=None, since=since)
        )
        return bool(done.rowcount)

    def claim(self, key: ScheduleKey, slot: datetime, by: str, now: datetime) -> bool:
        """Claim `slot` unless it or a later slot already was, or the schedule is paused:
        exactly one caller wins."""
        claimed = {"last_slot": slot, "claimed_at": now, "claimed_by": by}
        done = self.conn.execute(
            update(s.schedule_claims)
            .where(
                *_where(key),
                _c.paused_at.is_(None),
                or_(_c.last_slot.is_(None), _c.last_slot < slot),
            )
            .values(**claimed)
        )
        if done.rowcount:
            return True
        if self.state(key) is not None:
            return False  # this slot or a later one was claimed first, or it is paused
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
