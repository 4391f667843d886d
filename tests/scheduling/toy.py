"""A second kind of schedule for the tests: a "monitor" whose work is to count its slots.

It runs through the same machinery as pipelines (`relayml.scheduling`), claiming its slots
through `SchedulingService.claim` as a server-side monitor will.
"""

from __future__ import annotations

from datetime import datetime

from relayml.domain.identity import Principal
from relayml.domain.scheduling import Schedule, ScheduleKey, ScheduleKind
from relayml.errors import Conflict
from relayml.services import Services


class MonitorSource:
    def __init__(self, services: Services, who: Principal, project: str, cron: str) -> None:
        self.services, self.who, self.cron = services, who, cron
        self.key = ScheduleKey(ScheduleKind.MONITOR, project, "churn-api")
        self.checked: list[datetime] = []

    def schedules(self) -> list[Schedule]:
        return [self.services.scheduling.schedule(self.who, self.key, self.cron)]

    def start(self, schedule: Schedule, slot: datetime) -> datetime:
        if not self.services.scheduling.claim(self.who, schedule.key, slot):
            raise Conflict(f"{schedule.key} slot {slot.isoformat()} was claimed first")
        self.checked.append(slot)
        return slot
