"""Pipelines: registration and schedules, runs and step runs, the step cache and step blobs.

The steps themselves run where the caller runs (the CLI, the scheduler, a notebook); this
service records what happens to them, so embedded and server mode record the same things.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from relayml.domain.artifacts import check_digest
from relayml.domain.audit import EntityKind, Event
from relayml.domain.identity import GLOBAL_SCOPE, Principal, check_name
from relayml.domain.notifications import pipeline_run_failed
from relayml.domain.pipelines import (
    BackfillPlan,
    PipelineInfo,
    PipelineRun,
    StepOutput,
    StepRun,
    StepSpec,
    StepStatus,
    Trigger,
    check_cron,
    check_graph,
    check_step_name,
    parse_executor,
    parse_step_status,
    parse_trigger,
)
from relayml.domain.refs import parse_ref
from relayml.domain.roles import Action, is_allowed
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
from relayml.domain.tracking import RunStatus, check_run_id, parse_status
from relayml.errors import Conflict, InvalidInput, NotFound
from relayml.services.base import ServiceBase, utcnow
from relayml.services.denials import DenialLimiter
from relayml.services.notifications import NotificationService, Pending
from relayml.store.artifacts import ArtifactStore
from relayml.store.base import MetadataStore, Transaction

MAX_RUNS = 1000
MAX_ATTEMPTS = 1_000_000
MAX_TEXT = 100_000  # error messages and tracebacks are cut to this many characters


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 20] + "\n... (truncated)"


def _key(project: str, name: str) -> ScheduleKey:
    return ScheduleKey(ScheduleKind.PIPELINE, project, name)


def _with_next_run(info: PipelineInfo, now: datetime) -> PipelineInfo:
    """The pipeline with the slot its schedule starts next, as of `now` (None when it has no
    schedule or is paused)."""
    if info.schedule is not None:
        schedule = Schedule(
            _key(info.project, info.name),
            info.schedule,
            info.schedule_since,
            info.last_scheduled,
            info.paused,
        )
        info.next_run = next_slot(schedule, now)
    return info


def _check_module(module: str) -> str:
    if not isinstance(module, str) or ":" not in module or len(module) > 1024:
        raise InvalidInput(
            f"invalid pipeline module reference {module!r}; write 'package.module:name' "
            "or 'path/to/file.py:name'"
        )
    return module


class PipelineService(ServiceBase):
    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        notifications: NotificationService | None = None,
        *,
        denials: DenialLimiter | None = None,
    ) -> None:
        super().__init__(store, artifacts, denials)
        self.notifications = notifications or NotificationService(store, artifacts)

    def _run_project(self, tx: Transaction, run_id: str) -> str:
        project = tx.pipelines.run_project(check_run_id(run_id))
        if project is None:
            raise NotFound(f"no pipeline run {run_id!r}; list them with: relay pipelines runs")
        return project

    # pipelines ---------------------------------------------------------------------------
    def register(
        self,
        who: Principal,
        project: str,
        name: str,
        *,
        module: str,
        schedule: str | None = None,
        params: dict[str, Any] | None = None,
        steps: list[StepSpec] | None = None,
    ) -> PipelineInfo:
        """Create or update a pipeline. Setting or changing its schedule needs SCHEDULE_MANAGE."""
        check_name("pipeline", name)
        _check_module(module)
        cron = check_cron(schedule)
        graph = check_graph(list(steps or []))
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.PIPELINE_EDIT, project, EntityKind.PIPELINE, name
            )
            now = utcnow()
            old = tx.pipelines.get_pipeline(project, name)
            if cron != (old.schedule if old else None):
                roles = self.require(
                    tx, who, Action.SCHEDULE_MANAGE, project, EntityKind.PIPELINE, name
                )
            info = PipelineInfo(
                project=project,
                name=name,
                module=module,
                schedule=cron,
                params=dict(params or {}),
                steps=graph,
                created_at=old.created_at if old else now,
                created_by=old.created_by if old else who.user,
                updated_at=now,
            )
            tx.pipelines.save_pipeline(info)
            if old is not None and old.schedule == cron:
                info.schedule_since, info.last_scheduled = old.schedule_since, old.last_scheduled
            else:  # a new schedule catches up from now, not from 1970; a pause stays
                info.schedule_since = now if cron is not None else None
                tx.schedules.restart(_key(project, name), info.schedule_since)
            info.paused = old.paused if old is not None else None
            payload = {"module": module, "schedule": cron, "params": info.params}
            self.record(
                tx, who, roles, Event.PIPELINE_REGISTER, project, EntityKind.PIPELINE, name, payload
            )
            return _with_next_run(info, now)

    def get_pipeline(self, who: Principal, project: str, name: str) -> PipelineInfo:
        """One pipeline: its code reference, graph, schedule with its next run, pause."""
        check_name("pipeline", name)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.PIPELINE_READ, project, EntityKind.PIPELINE, name
            )
            return _with_next_run(self._pipeline(tx, project, name), utcnow())

    def pause(self, who: Principal, project: str, name: str, reason: str) -> PipelineInfo:
        """Pause a pipeline's schedule: no scheduler starts it until it is resumed. Manual
        runs and backfills still run."""
        check_name("pipeline", name)
        text = check_reason("pause reason", reason)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.SCHEDULE_MANAGE, project, EntityKind.PIPELINE, name
            )
            info = self._pipeline(tx, project, name)
            if info.schedule is None:
                raise Conflict(
                    f"pipeline {name!r} has no schedule to pause: it runs only when started; "
                    "give it one with @relay.pipeline(schedule='0 3 * * *')"
                )
            if info.paused is not None:
                raise Conflict(
                    f"pipeline {name!r} is paused already, by {info.paused.by} since "
                    f"{info.paused.at:%Y-%m-%d %H:%M} UTC: {info.paused.reason}"
                )
            now = utcnow()
            if not tx.schedules.pause(_key(project, name), Pause(who.user, now, text)):
                raise Conflict(f"pipeline {name!r} was paused at the same moment by someone else")
            payload = {"reason": text, "schedule": info.schedule}
            self.record(
                tx, who, roles, Event.SCHEDULE_PAUSE, project, EntityKind.PIPELINE, name, payload
            )
            return _with_next_run(self._pipeline(tx, project, name), now)

    def resume(self, who: Principal, project: str, name: str) -> PipelineInfo:
        """Resume a paused schedule. It catches up from now, as a new schedule does: the slots
        missed while it was paused are not run (backfill them if they are needed)."""
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
            if not tx.schedules.resume(_key(project, name), now):
                raise Conflict(f"pipeline {name!r} was resumed at the same moment by someone else")
            payload = {
                "paused_by": paused.by,
                "paused_at": paused.at.isoformat(),
                "pause_reason": paused.reason,
            }
            self.record(
                tx, who, roles, Event.SCHEDULE_RESUME, project, EntityKind.PIPELINE, name, payload
            )
            return _with_next_run(self._pipeline(tx, project, name), now)

    def _pipeline(self, tx: Transaction, project: str, name: str) -> PipelineInfo:
        info = tx.pipelines.get_pipeline(project, name)
        if info is None:
            raise NotFound(
                f"no pipeline {name!r} in project {project!r}; see them with: relay pipelines ls"
            )
        return info

    def list_pipelines(
        self, who: Principal, project: str | None = None, *, scheduled: bool = False
    ) -> list[PipelineInfo]:
        """The pipelines of `project`, or of every project the caller may read."""
        with self.read() as tx:
            if project is not None:
                self.require_in_project(
                    tx, who, Action.PIPELINE_READ, project, EntityKind.PROJECT, project
                )
                found = tx.pipelines.list_pipelines([project], scheduled)
            else:
                readable = [
                    p.name
                    for p in tx.identity.list_projects()
                    if is_allowed(self.roles(tx, who.user, p.name), Action.PIPELINE_READ)
                ]
                found = tx.pipelines.list_pipelines(readable, scheduled)
        now = utcnow()
        return [_with_next_run(info, now) for info in found]

    # runs --------------------------------------------------------------------------------
    def start_run(
        self,
        who: Principal,
        project: str,
        pipeline: str,
        *,
        trigger: str = "manual",
        executor: str = "local",
        params: dict[str, Any] | None = None,
        steps: list[StepSpec] | None = None,
        scheduled_for: datetime | None = None,
    ) -> PipelineRun:
        """Record a new run with its steps pending. A scheduled run claims its cron slot: a
        slot already started (by another scheduler) is a Conflict, so each slot runs once."""
        check_name("pipeline", pipeline)
        kind = parse_trigger(trigger)
        parse_executor(executor)
        graph = check_graph(list(steps or []))
        if not graph:
            raise InvalidInput(f"pipeline {pipeline!r} has no steps; call a @relay.step in it")
        if kind.has_slot != (scheduled_for is not None):
            raise InvalidInput(
                "scheduled_for is given with trigger 'schedule' or 'backfill', and only then"
            )
        if scheduled_for is not None:
            scheduled_for = parse_moment(scheduled_for, "scheduled_for")
        run_id = uuid.uuid4().hex
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.PIPELINE_RUN, project, EntityKind.PIPELINE_RUN, run_id
            )
            if tx.pipelines.get_pipeline(project, pipeline) is None:
                raise NotFound(
                    f"no pipeline {pipeline!r} in project {project!r}; running it with "
                    "relay pipelines run registers it"
                )
            if kind is Trigger.SCHEDULE and scheduled_for is not None:
                self.require(
                    tx, who, Action.SCHEDULE_MANAGE, project, EntityKind.PIPELINE, pipeline
                )
                key = _key(project, pipeline)
                state = tx.schedules.state(key)
                if state is not None and state.paused is not None:
                    raise Conflict(
                        f"pipeline {pipeline!r} is {state.paused}; its slots are not started "
                        f"until: relay pipelines resume {pipeline}"
                    )
                if not tx.schedules.claim(key, scheduled_for, who.user, utcnow()):
                    raise Conflict(
                        f"pipeline {pipeline!r} already started for the slot "
                        f"{scheduled_for.isoformat()} or a later one"
                    )
            run = PipelineRun(
                id=run_id,
                project=project,
                pipeline=pipeline,
                trigger=kind,
                executor=executor,
                params=dict(params or {}),
                status=RunStatus.RUNNING,
                user=who.user,
                started_at=utcnow(),
                scheduled_for=scheduled_for,
                steps=[StepRun(s.name, StepStatus.PENDING, s.upstream) for s in graph],
            )
            tx.pipelines.create_run(run)
            payload = {
                "pipeline": pipeline,
                "trigger": kind.value,
                "executor": executor,
                "params": run.params,
                "scheduled_for": scheduled_for.isoformat() if scheduled_for else None,
            }
            self.record(
                tx,
                who,
                roles,
                Action.PIPELINE_RUN,
                project,
                EntityKind.PIPELINE_RUN,
                run_id,
                payload,
            )
            return run

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

    def record_step(
        self,
        who: Principal,
        run_id: str,
        step: str,
        *,
        status: str,
        attempts: int = 0,
        cache_key: str | None = None,
        cached: bool = False,
        output: StepOutput | None = None,
        logs_digest: str | None = None,
        error: str | None = None,
        user_traceback: str | None = None,
    ) -> StepRun:
        """Record a step's new state; start and end times come from this clock."""
        check_step_name(step)
        state = parse_step_status(status)
        if isinstance(attempts, bool) or not isinstance(attempts, int):
            raise InvalidInput(f"attempts must be a count, got {attempts!r}")
        if not 0 <= attempts <= MAX_ATTEMPTS:
            raise InvalidInput(f"attempts must be between 0 and {MAX_ATTEMPTS:,}, got {attempts}")
        for digest in (cache_key, logs_digest, output.blob if output else None):
            if digest is not None:
                check_digest(digest)
        with self.write() as tx:
            project = self._run_project(tx, run_id)
            roles = self.require(
                tx, who, Action.PIPELINE_RUN, project, EntityKind.PIPELINE_RUN, run_id
            )
            run = tx.pipelines.get_run(run_id, with_steps=False)
            assert run is not None
            if run.status.terminal:
                raise Conflict(f"pipeline run {run_id} already ended as {run.status.value}")
            current = tx.pipelines.get_step(run_id, step)
            if current is None:
                raise NotFound(f"pipeline run {run_id} has no step {step!r}")
            if current.status.terminal:
                raise Conflict(
                    f"step {step!r} of pipeline run {run_id} already ended as "
                    f"{current.status.value}"
                )
            self._check_references(tx, project, output, logs_digest)
            now = utcnow()
            current.status = state
            current.attempts = attempts
            current.cache_key = cache_key
            current.cached = cached
            current.output = output
            current.logs_digest = logs_digest
            current.error = _text(error)
            current.user_traceback = _text(user_traceback)
            if state is not StepStatus.PENDING and current.started_at is None:
                current.started_at = now
            if state.terminal:
                current.ended_at = now
            tx.pipelines.save_step(run_id, current)
            payload = {"step": step, "status": state.value, "attempts": attempts}
            self.record(
                tx,
                who,
                roles,
                Event.PIPELINE_STEP,
                project,
                EntityKind.PIPELINE_RUN,
                run_id,
                payload,
            )
            return current

    def _check_references(
        self, tx: Transaction, project: str, output: StepOutput | None, logs: str | None
    ) -> None:
        """A step may name only bytes and datasets its own project can reach."""
        if output is not None and output.blob is not None:
            self.require_blob(tx, project, output.blob, "step output")
        if logs is not None:
            self.require_blob(tx, project, logs, "step log")
        if output is not None and output.kind == "dataset":
            ref = parse_ref(output.ref or "")
            if (
                ref.version is None
                or tx.datasets.find_version(project, ref.name, ref.version, True) is None
            ):
                raise NotFound(
                    f"no dataset version {output.ref!r} in project {project!r} for the step's "
                    "output; name a published version, e.g. loans@3"
                )

    def finish_run(
        self, who: Principal, run_id: str, status: str, error: str | None = None
    ) -> PipelineRun:
        final = parse_status(status)
        if not final.terminal:
            raise InvalidInput(
                f"a pipeline run finishes as finished, failed or killed, not {final.value}"
            )
        with self.write() as tx:
            project = self._run_project(tx, run_id)
            roles = self.require(
                tx, who, Action.PIPELINE_RUN, project, EntityKind.PIPELINE_RUN, run_id
            )
            run = tx.pipelines.get_run(run_id)
            assert run is not None
            if run.status.terminal:
                raise Conflict(f"pipeline run {run_id} already ended as {run.status.value}")
            open_steps = [s.name for s in run.steps if not s.status.terminal]
            if final is RunStatus.FINISHED and open_steps:
                raise Conflict(
                    f"pipeline run {run_id} cannot finish: steps {open_steps} have not finished"
                )
            tx.pipelines.finish_run(run_id, final, _text(error), utcnow())
            payload = {"status": final.value, "error": error}
            self.record(
                tx,
                who,
                roles,
                Event.PIPELINE_FINISH,
                project,
                EntityKind.PIPELINE_RUN,
                run_id,
                payload,
            )
            done = tx.pipelines.get_run(run_id)
            assert done is not None
            pending: list[Pending] = []
            if final is RunStatus.FAILED:
                pending = self.notifications.enqueue(tx, pipeline_run_failed(done))
        self.notifications.send(pending)  # after the commit: the run's end is on record
        return done

    def list_runs(
        self, who: Principal, project: str, pipeline: str | None = None, limit: int = 50
    ) -> list[PipelineRun]:
        if pipeline is not None:
            check_name("pipeline", pipeline)
        if not isinstance(limit, int) or not 1 <= limit <= MAX_RUNS:
            raise InvalidInput(f"limit must be between 1 and {MAX_RUNS}, got {limit!r}")
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.PIPELINE_READ, project, EntityKind.PROJECT, project
            )
            return tx.pipelines.list_runs(project, pipeline, limit)

    def get_run(self, who: Principal, run_id: str) -> PipelineRun:
        with self.read() as tx:
            project = self._run_project(tx, run_id)
            self.require(tx, who, Action.PIPELINE_READ, project, EntityKind.PIPELINE_RUN, run_id)
            run = tx.pipelines.get_run(run_id)
            assert run is not None
            return run

    def find_cached(self, who: Principal, project: str, cache_key: str) -> StepOutput | None:
        check_digest(cache_key)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.PIPELINE_READ, project, EntityKind.PROJECT, project
            )
            return tx.pipelines.find_cached(project, cache_key)

    # blobs: step outputs and logs --------------------------------------------------------
    def put_blob(
        self,
        who: Principal,
        run_id: str,
        chunks: Iterable[bytes],
        expected_digest: str | None = None,
    ) -> tuple[str, int]:
        """Store a step's output or log bytes for a running pipeline run; (sha256, size)."""
        if expected_digest is not None:
            check_digest(expected_digest)
        with self.read() as tx:
            project = self._run_project(tx, run_id)
            self.require(tx, who, Action.PIPELINE_RUN, project, EntityKind.PIPELINE_RUN, run_id)
            run = tx.pipelines.get_run(run_id, with_steps=False)
            if run is not None and run.status.terminal:
                raise Conflict(f"pipeline run {run_id} already ended as {run.status.value}")
        return self.store_upload(who, project, chunks, expected_digest)

    def download_blob(self, who: Principal, run_id: str, digest: str) -> Iterator[bytes]:
        """A blob that a step run of this run's project refers to, verified as it is read."""
        check_digest(digest)
        with self.read() as tx:
            project = self._run_project(tx, run_id)
            self.require(tx, who, Action.PIPELINE_READ, project, EntityKind.PIPELINE_RUN, run_id)
            if project == GLOBAL_SCOPE or not tx.pipelines.blob_in_project(project, digest):
                raise NotFound(
                    f"no step output or log {digest} in the project of pipeline run {run_id}"
                )
        return self.artifacts.iter_verified(digest)
