"""Cron schedules shared by every kind of scheduled thing (pipelines now, monitors next).

A schedule is known by its key (kind, project, name). Its state is two instants: `since`, when
the current schedule was set (a new schedule catches up from then, not from 1970), and
`last_slot`, the newest slot a scheduler has claimed. The slot due at `now` is the newest cron
slot at or before `now`, if it is later than both: so after downtime a schedule runs once, for
the newest missed slot, not once per missed slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from relayml.errors import InvalidInput


class ScheduleKind(StrEnum):
    PIPELINE = "pipeline"
    MONITOR = "monitor"


def parse_kind(value: str) -> ScheduleKind:
    try:
        return ScheduleKind(value)
    except ValueError:
        known = ", ".join(k.value for k in ScheduleKind)
        raise InvalidInput(f"unknown schedule kind {value!r}; use one of: {known}") from None


@dataclass(frozen=True)
class ScheduleKey:
    kind: ScheduleKind
    project: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.project}/{self.name}"


MAX_BACKFILL_SLOTS = 1000


@dataclass(frozen=True)
class Pause:
    """Who paused a schedule, when and why. A paused schedule starts nothing."""

    by: str
    at: datetime
    reason: str

    def __str__(self) -> str:
        return f"paused by {self.by}: {self.reason}"


@dataclass(frozen=True)
class ScheduleState:
    """A schedule's claim state as stored: since, the newest claimed slot, and any pause."""

    since: datetime | None = None
    last_slot: datetime | None = None
    paused: Pause | None = None


@dataclass(frozen=True)
class Schedule:
    """One scheduled thing as a scheduler sees it: its cron expression and its claim state."""

    key: ScheduleKey
    cron: str
    since: datetime | None = None
    last_slot: datetime | None = None
    paused: Pause | None = None


def _aware(slot: datetime, like: datetime) -> datetime:
    if like.tzinfo is not None and slot.tzinfo is None:
        return slot.replace(tzinfo=like.tzinfo)
    return slot


def due_slot(schedule: Schedule, now: datetime) -> datetime | None:
    """The cron slot to start at `now`, or None if the newest slot has been claimed already
    (or the schedule is paused)."""
    from croniter import croniter

    if schedule.paused is not None:
        return None
    slot = _aware(croniter(schedule.cron, now).get_prev(datetime), now)
    for earlier in (schedule.last_slot, schedule.since):
        if earlier is not None and slot <= earlier:
            return None
    return slot


def next_slot(schedule: Schedule, now: datetime) -> datetime | None:
    """The slot a scheduler will start next: one already due (a scheduler that is not running
    has not started it yet), else the first slot after `now`; None while paused."""
    from croniter import croniter

    if schedule.paused is not None:
        return None
    due = due_slot(schedule, now)
    if due is not None:
        return due
    return _aware(croniter(schedule.cron, now).get_next(datetime), now)


def slots_between(
    cron: str, start: datetime, end: datetime, limit: int = MAX_BACKFILL_SLOTS
) -> list[datetime]:
    """Every slot of `cron` in the closed range [start, end], oldest first; more than `limit`
    is refused, naming the range, so a typo in a year cannot start a million runs."""
    from croniter import croniter

    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("a range of slots needs times with a time zone (UTC if unsure)")
    if end < start:
        raise InvalidInput(
            f"the range ends ({end.isoformat()}) before it starts ({start.isoformat()}); "
            "give --to on or after --from"
        )
    slots: list[datetime] = []
    it = croniter(cron, start - timedelta(microseconds=1))
    while True:
        slot = _aware(it.get_next(datetime), start)
        if slot > end:
            return slots
        if len(slots) == limit:
            raise InvalidInput(
                f"{start.isoformat()} .. {end.isoformat()} holds more than {limit:,} slots of "
                f"{cron!r}; backfill at most {limit:,} at a time (a shorter range)"
            )
        slots.append(slot)


_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def parse_moment(value: object, what: str, *, end_of_day: bool = False) -> datetime:
    """A moment from a user: a datetime, a date, or ISO-8601 text ("2026-11-01",
    "2026-11-01T03:00", "2026-11-01T03:00+02:00"). Without a time zone it is UTC, as cron
    schedules are; a bare date is the start of that day, or its end with `end_of_day` (so
    `--to 2026-11-07` includes the slots of the 7th)."""
    moment: datetime
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time.max if end_of_day else time.min)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:  # a bare date
                day = date.fromisoformat(text)
                moment = datetime.combine(day, time.max if end_of_day else time.min)
            else:
                moment = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                f"{what} {value!r:.60} is not a date; write 2026-11-01, 2026-11-01T03:00 or "
                "2026-11-01T03:00+02:00 (UTC unless an offset is given)"
            ) from None
    else:
        raise InvalidInput(
            f"{what} must be a date, a datetime or ISO-8601 text such as 2026-11-01, "
            f"not {type(value).__name__} {value!r:.40}"
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not _EARLIEST <= moment < _LATEST:
        raise InvalidInput(f"{what} {moment.isoformat()} is outside the years 1970 to 9998")
    return moment
