"""The schedule rules every kind shares: which slot is due, which comes next, a pause, the
slots of a range (backfills), and the moments users type."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from relayml.domain.scheduling import (
    Pause,
    Schedule,
    ScheduleKey,
    ScheduleKind,
    due_slot,
    next_slot,
    parse_moment,
    slots_between,
)
from relayml.errors import InvalidInput

KEY = ScheduleKey(ScheduleKind.PIPELINE, "etl", "nightly")
SET = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_a_paused_schedule_is_never_due_and_has_no_next_run() -> None:
    running = Schedule(KEY, "0 3 * * *", since=SET)
    later = SET + timedelta(days=3)
    assert due_slot(running, later) == datetime(2026, 11, 4, 3, tzinfo=UTC)
    paused = Schedule(KEY, "0 3 * * *", since=SET, paused=Pause("dana", later, "migration"))
    assert due_slot(paused, later) is None and next_slot(paused, later) is None


def test_resuming_catches_up_from_the_resume() -> None:
    resumed_at = SET + timedelta(days=3, hours=1)  # 2026-11-04 13:00, three slots missed
    resumed = Schedule(KEY, "0 3 * * *", since=resumed_at)
    assert due_slot(resumed, resumed_at + timedelta(minutes=5)) is None
    assert next_slot(resumed, resumed_at) == datetime(2026, 11, 5, 3, tzinfo=UTC)


def test_next_slot_is_a_due_slot_first_then_the_next_one() -> None:
    waiting = Schedule(KEY, "0 3 * * *", since=SET)
    now = SET + timedelta(days=1)  # the 2nd's 03:00 slot is due and not started yet
    assert next_slot(waiting, now) == datetime(2026, 11, 2, 3, tzinfo=UTC)
    started = Schedule(KEY, "0 3 * * *", since=SET, last_slot=datetime(2026, 11, 2, 3, tzinfo=UTC))
    assert next_slot(started, now) == datetime(2026, 11, 3, 3, tzinfo=UTC)


def test_slots_between_is_a_closed_range_oldest_first() -> None:
    start = datetime(2026, 11, 1, 3, tzinfo=UTC)
    slots = slots_between("0 3 * * *", start, datetime(2026, 11, 7, 3, tzinfo=UTC))
    assert slots == [start + timedelta(days=d) for d in range(7)]
    assert slots_between("0 3 * * *", start, start) == [start]
    assert (
        slots_between("0 3 * * *", start + timedelta(minutes=1), start + timedelta(hours=1)) == []
    )
    with pytest.raises(InvalidInput, match="before it starts"):
        slots_between("0 3 * * *", start, start - timedelta(days=1))
    with pytest.raises(InvalidInput, match="more than 1,000 slots"):
        slots_between("* * * * *", start, start + timedelta(days=1))
    assert len(slots_between("* * * * *", start, start + timedelta(minutes=999))) == 1000


def test_parse_moment() -> None:
    assert parse_moment("2026-11-01", "--from") == datetime(2026, 11, 1, tzinfo=UTC)
    end = parse_moment("2026-11-07", "--to", end_of_day=True)
    assert end.date() == date(2026, 11, 7) and end.hour == 23 and end.tzinfo is UTC
    assert parse_moment("2026-11-01T03:00", "x") == datetime(2026, 11, 1, 3, tzinfo=UTC)
    plus2 = parse_moment("2026-11-01T05:00+02:00", "x")
    assert plus2 == datetime(2026, 11, 1, 3, tzinfo=UTC)
    assert parse_moment(date(2026, 11, 1), "x") == datetime(2026, 11, 1, tzinfo=UTC)
    naive = datetime(2026, 11, 1, 3)
    assert parse_moment(naive, "x") == datetime(2026, 11, 1, 3, tzinfo=UTC)
    aware = datetime(2026, 11, 1, 3, tzinfo=timezone(timedelta(hours=-5)))
    assert parse_moment(aware, "x") == aware
    for bad in ("2026-13-01", "yesterday", "", "\ud800", 2**63, None, True, 1.5):
        with pytest.raises(InvalidInput):
            parse_moment(bad, "--from")
    for far in ("0001-01-01", "9999-12-31", "1969-12-31T23:59"):
        with pytest.raises(InvalidInput, match="outside the years"):
            parse_moment(far, "--to")
