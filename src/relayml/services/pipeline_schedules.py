"""Pipelines' schedules and triggers: a pipeline read with its next run, pausing and resuming,
the versions of watched datasets that should start it and claiming one, and the slots of a
backfill. `PipelineService` (services/pipelines.py) is built on this.
"""

from __future__ import annotations

from datetime import datetime

from relayml.domain.audit import EntityKind, Event
from relayml.domain.datasets import DatasetStatus
from relayml.domain.identity import Principal, check_name
from relayml.domain.pipelines import BackfillPlan, DueTrigger, PipelineInfo, check_cron
from relayml.domain.refs import Ref
from relayml.domain.roles import Action
from relayml.domain.scheduling import (
    Pause,
    Schedule,
    ScheduleKey,
    ScheduleKind,
    next_slot,
    parse_moment,
    slots_between,
)
from relayml.domain.text import check_reason
from relayml.errors import Conflict, InvalidInput, NotFound
from relayml.services.base import ServiceBase, utcnow
from relayml.store.base import Transaction

MAX_DUE = 1000  # due dataset triggers listed at once; the next tick gets the rest


def schedule_key(project: str, name: str) -> ScheduleKey:
    return ScheduleKey(ScheduleKind.PIPELINE, project, name)


def with_next_run(info: PipelineInfo, now: datetime) -> PipelineInfo:
    """The pipeline with the slot its schedule starts next, as of `now` (None when it has no
    schedule or is paused)."""
    if info.schedule is not None:
        schedule = Schedule(
            schedule_key(info.project, info.name),
            info.schedule,
            info.schedule_since,
            info.last_scheduled,
            info.paused,
        )
        info.next_run = next_slot(schedule, now)
    return info


class ScheduleMixin(ServiceBase):
    def get_pipeline(self, who: Principal, project: str, name: str) -> PipelineInfo:
        """One pipeline: its code reference, graph, schedule with its next run, pause."""
        check_name("pipeline", name)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.PIPELINE_READ, project, EntityKind.PIPELINE, name
            )
            return with_next_run(self._pipeline(tx, project, name), utcnow())

    def pause(self, who: Principal, project: str, name: str, reason: str) -> PipelineInfo:
        """Pause a pipeline's schedule and dataset triggers: no scheduler starts it until it is
        resumed. Manual runs and backfills still run."""
        check_name("pipeline", name)
        text = check_reason("pause reason", reason)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.SCHEDULE_MANAGE, project, EntityKind.PIPELINE, name
            )
            info = self._pipeline(tx, project, name)
            if info.schedule is None and not info.on_publish:
                raise Conflict(
                    f"pipeline {name!r} has no schedule to pause: it runs only when started; "
                    "give it one with @relay.pipeline(schedule='0 3 * * *') or on_publish="
                )
            if info.paused is not None:
                raise Conflict(
                    f"pipeline {name!r} is paused already, by {info.paused.by} since "
                    f"{info.paused.at:%Y-%m-%d %H:%M} UTC: {info.paused.reason}"
                )
            now = utcnow()
            if not tx.schedules.pause(schedule_key(project, name), Pause(who.user, now, text)):
                raise Conflict(f"pipeline {name!r} was paused at the same moment by someone else")
            payload = {
                "reason": text,
                "schedule": info.schedule,
                "on_publish": [t.dataset for t in info.on_publish],
            }
            self.record(
                tx, who, roles, Event.SCHEDULE_PAUSE, project, EntityKind.PIPELINE, name, payload
            )
            return with_next_run(self._pipeline(tx, project, name), now)

    def resume(self, who: Principal, project: str, name: str) -> PipelineInfo:
        """Resume a paused schedule. It catches up from now, as a new schedule does: the slots
        missed while it was paused are not run (backfill them if they are needed), and the
        versions of watched datasets published meanwhile do not start it."""
        check_name("pipeline", name)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.SCHEDULE_MANAGE, project, EntityKind.PIPELINE, name
            )
            info = self._pipeline(tx, project, name)
            paused = info.paused
            if paused is None:
                raise Conflict(f"pipeline {name!r} is not paused")
            now = utcnow()
            if not tx.schedules.resume(schedule_key(project, name), now):
                raise Conflict(f"pipeline {name!r} was resumed at the same moment by someone else")
            tx.pipelines.skip_published(project, name)  # nor versions published while paused
            payload = {
                "paused_by": paused.by,
                "paused_at": paused.at.isoformat(),
                "pause_reason": paused.reason,
            }
            self.record(
                tx, who, roles, Event.SCHEDULE_RESUME, project, EntityKind.PIPELINE, name, payload
            )
            return with_next_run(self._pipeline(tx, project, name), now)

    def _pipeline(self, tx: Transaction, project: str, name: str) -> PipelineInfo:
        info = tx.pipelines.get_pipeline(project, name)
        if info is None:
            raise NotFound(
                f"no pipeline {name!r} in project {project!r}; see them with: relay pipelines ls"
            )
        return info

    def _claim_version(
        self, tx: Transaction, who: Principal, info: PipelineInfo, published: Ref
    ) -> None:
        """Claim a published version for a dataset-triggered run, or say why it cannot start."""
        assert published.version is not None
        name, ref = info.name, str(published)
        if published.name not in {t.dataset for t in info.on_publish}:
            raise InvalidInput(
                f"pipeline {name!r} does not watch dataset {published.name!r}; its on_publish: "
                f"{', '.join(t.dataset for t in info.on_publish) or 'none'}"
            )
        if info.paused is not None:
            raise Conflict(
                f"pipeline {name!r} is {info.paused}; publications do not start it until: "
                f"relay pipelines resume {name}"
            )
        found = tx.datasets.find_version(info.project, published.name, published.version, True)
        if found is None:
            raise NotFound(f"no dataset version {ref} in project {info.project!r}")
        version = found[1]
        if version.status not in (DatasetStatus.VALID, DatasetStatus.RELEASED):
            raise Conflict(f"{ref} is {version.status.value}; it starts {name} once released")
        if version.deprecated:
            raise Conflict(f"{ref} is deprecated; it does not start {name}")
        claimed = tx.pipelines.claim_trigger(
            info.project, name, published.name, published.version, who.user, utcnow()
        )
        if not claimed:
            raise Conflict(f"pipeline {name!r} already started for {ref} or a later version")

    def due_triggers(self, who: Principal, project: str | None = None) -> list[DueTrigger]:
        """The published versions that should start a pipeline and have not yet (at most
        MAX_DUE), oldest first per watched dataset: of `project`, or of every project where
        the caller may manage schedules (what `relay scheduler` starts)."""
        with self.read() as tx:
            if project is not None:
                self.require_in_project(
                    tx, who, Action.SCHEDULE_MANAGE, project, EntityKind.PROJECT, project
                )
                projects = [project]
            else:
                projects = [
                    p.name
                    for p in tx.identity.list_projects()
                    if self.allowed(
                        tx, self.roles(tx, who.user, p.name), Action.SCHEDULE_MANAGE, p.name
                    )
                ]
            return tx.pipelines.due_triggers(projects, MAX_DUE) if projects else []

    def backfill_plan(
        self,
        who: Principal,
        project: str,
        pipeline: str,
        start: datetime | str,
        end: datetime | str,
        *,
        every: str | None = None,
        rerun: bool = False,
    ) -> BackfillPlan:
        """The slots a backfill of [start, end] runs, oldest first: the pipeline's cron slots
        (or `every`'s) up to now, less those a finished run has done unless `rerun`. `start`
        and `end` are datetimes or ISO 8601 text (UTC unless an offset is given; a bare date
        as the end includes its day). At most MAX_BACKFILL_SLOTS; the schedule's claim state
        is not read nor touched."""
        check_name("pipeline", pipeline)
        begin = parse_moment(start, "the backfill's start")
        finish = parse_moment(end, "the backfill's end", end_of_day=True)  # a date: all of it
        cron = check_cron(every)
        if not isinstance(rerun, bool):
            raise InvalidInput(f"rerun is true or false, not {rerun!r:.40}")
        if finish < begin:
            raise InvalidInput(
                f"the backfill ends ({finish.isoformat()}) before it starts "
                f"({begin.isoformat()}); give --to on or after --from"
            )
        now = utcnow()
        if begin > now:
            raise InvalidInput(
                f"the backfill starts at {begin.isoformat()}, after now: a backfill runs past "
                "slots; the scheduler runs the coming ones"
            )
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.PIPELINE_RUN, project, EntityKind.PIPELINE, pipeline
            )
            info = self._pipeline(tx, project, pipeline)
            cron = cron or info.schedule
            if cron is None:
                raise InvalidInput(
                    f"pipeline {pipeline!r} has no schedule, so it has no slots to backfill; "
                    "name them with --every CRON (every='0 3 * * *')"
                )
            until = min(finish, now)
            slots = slots_between(cron, begin, until)
            done: dict[datetime, str] = {}
            if slots and not rerun:
                done = tx.pipelines.finished_slots(project, pipeline, slots[0], slots[-1])
        return BackfillPlan(
            project=project,
            pipeline=pipeline,
            cron=cron,
            start=begin,
            end=finish,
            until=until,
            slots=[slot for slot in slots if slot not in done],
            skipped=[(slot, done[slot]) for slot in slots if slot in done],
        )
