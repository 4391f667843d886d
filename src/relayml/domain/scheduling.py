"""Cron schedules shared by every kind of scheduled thing (pipelines now, monitors next).

A schedule is known by its key (kind, project, name). Its state is two instants: `since`, when
the current schedule was set (a new schedule catches up from then, not from 1970), and
`last_slot`, the newest slot a scheduler has claimed. The slot due at `now` is the newest cron
slot at or before `now`, if it is later than both: so after downtime a schedule runs once, for
the newest missed slot, not once per missed slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


@dataclass(frozen=True)
class Schedule:
    """One scheduled thing as a scheduler sees it: its cron expression and its claim state."""

    key: ScheduleKey
    cron: str
    since: datetime | None = None
    last_slot: datetime | None = None


def due_slot(schedule: Schedule, now: datetime) -> datetime | None:
    """The cron slot to start at `now`, or None if the newest slot has been claimed already."""
    from croniter import croniter

    slot: datetime = croniter(schedule.cron, now).get_prev(datetime)
    if now.tzinfo is not None and slot.tzinfo is None:
        slot = slot.replace(tzinfo=now.tzinfo)
    for earlier in (schedule.last_slot, schedule.since):
        if earlier is not None and slot <= earlier:
            return None
    return slot
