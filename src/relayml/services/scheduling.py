"""Schedules of any kind: their claim state, and claiming a slot so it runs once.

A kind's own service claims inside its own transaction when the claim and the work it starts
must commit together (`PipelineService.start_run`); this service is for schedulers whose work
is not a single write (a monitor's window check), and for reading a schedule's state.
"""

from __future__ import annotations

from datetime import datetime

from relayml.domain.audit import EntityKind
from relayml.domain.identity import Principal
from relayml.domain.pipelines import check_cron
from relayml.domain.roles import Action
from relayml.domain.scheduling import Schedule, ScheduleKey, ScheduleKind, ScheduleState
from relayml.errors import InvalidInput
from relayml.services.base import ServiceBase, utcnow

# Claiming or setting a schedule of a kind needs the action that manages that kind.
MANAGE: dict[ScheduleKind, Action] = {
    ScheduleKind.PIPELINE: Action.SCHEDULE_MANAGE,
    ScheduleKind.MONITOR: Action.MONITOR_MANAGE,
}


class SchedulingService(ServiceBase):
    def schedule(self, who: Principal, key: ScheduleKey, cron: str) -> Schedule:
        """`cron` with the claim state recorded for `key` (none yet: due from the first slot)."""
        cron_text = check_cron(cron)
        if cron_text is None:
            raise InvalidInput("a schedule needs a cron expression such as '0 3 * * *'")
        with self.read() as tx:
            self.require_in_project(
                tx, who, MANAGE[key.kind], key.project, EntityKind.SCHEDULE, str(key)
            )
            state = tx.schedules.state(key) or ScheduleState()
        return Schedule(key, cron_text, state.since, state.last_slot, state.paused)

    def restart(self, who: Principal, key: ScheduleKey, since: datetime | None = None) -> None:
        """(Re)start a schedule: slots up to `since` (default: now) are not due."""
        with self.write() as tx:
            self.require_in_project(
                tx, who, MANAGE[key.kind], key.project, EntityKind.SCHEDULE, str(key)
            )
            tx.schedules.restart(key, since or utcnow())

    def claim(self, who: Principal, key: ScheduleKey, slot: datetime) -> bool:
        """Claim `slot` for `key`: True for exactly one caller, False once it (or a later
        slot) is claimed. The row records who claimed it and when."""
        if slot.tzinfo is None:
            raise InvalidInput(f"slot {slot.isoformat()} has no time zone; give an aware time")
        with self.write() as tx:
            self.require_in_project(
                tx, who, MANAGE[key.kind], key.project, EntityKind.SCHEDULE, str(key)
            )
            return tx.schedules.claim(key, slot, who.user, utcnow())
