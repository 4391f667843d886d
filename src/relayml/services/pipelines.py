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
    PipelineInfo,
    PipelineRun,
    StepOutput,
    StepRun,
    StepSpec,
    StepStatus,
    Trigger,
    check_cron,
    check_graph,
    check_on_publish,
    check_step_name,
    parse_executor,
    parse_step_status,
    parse_trigger,
)
from relayml.domain.refs import parse_ref
from relayml.domain.roles import Action
from relayml.domain.scheduling import (
    parse_moment,
)
from relayml.domain.tracking import RunStatus, check_run_id, parse_status
from relayml.errors import Conflict, InvalidInput, NotFound
from relayml.services.base import utcnow
from relayml.services.denials import DenialLimiter
from relayml.services.loop_driving import claim_pipeline
from relayml.services.notifications import NotificationService, Pending
from relayml.services.pipeline_schedules import ScheduleMixin, schedule_key, with_next_run
from relayml.store.artifacts import ArtifactStore
from relayml.store.base import MetadataStore, Transaction

MAX_RUNS = 1000
MAX_ATTEMPTS = 1_000_000
MAX_TEXT = 100_000  # error messages and tracebacks are cut to this many characters


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 20] + "\n... (truncated)"


def _check_module(module: str) -> str:
    if not isinstance(module, str) or ":" not in module or len(module) > 1024:
        raise InvalidInput(
            f"invalid pipeline module reference {module!r}; write 'package.module:name' "
            "or 'path/to/file.py:name'"
        )
    return module


class PipelineService(ScheduleMixin):
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
        on_publish: list[str] | None = None,
    ) -> PipelineInfo:
        """Create or update a pipeline. Setting or changing its schedule or the datasets whose
        publication starts it (`on_publish`) needs SCHEDULE_MANAGE. A newly watched dataset
        starts it for versions published from now on, not for those that exist already."""
        check_name("pipeline", name)
        _check_module(module)
        cron = check_cron(schedule)
        graph = check_graph(list(steps or []))
        watched = check_on_publish(on_publish)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.PIPELINE_EDIT, project, EntityKind.PIPELINE, name
            )
            now = utcnow()
            old = tx.pipelines.get_pipeline(project, name)
            was_watched = {t.dataset for t in old.on_publish} if old else set()
            if cron != (old.schedule if old else None) or set(watched) != was_watched:
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
                tx.schedules.restart(schedule_key(project, name), info.schedule_since)
            info.paused = old.paused if old is not None else None
            if watched or was_watched:
                tx.pipelines.set_triggers(project, name, watched, now)
                saved = tx.pipelines.get_pipeline(project, name)
                assert saved is not None
                info.on_publish = saved.on_publish
            payload = {
                "module": module,
                "schedule": cron,
                "params": info.params,
                "on_publish": watched,
            }
            self.record(
                tx, who, roles, Event.PIPELINE_REGISTER, project, EntityKind.PIPELINE, name, payload
            )
            return with_next_run(info, now)

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
                    if self.allowed(
                        tx, self.roles(tx, who.user, p.name), Action.PIPELINE_READ, p.name
                    )
                ]
                found = tx.pipelines.list_pipelines(readable, scheduled)
        now = utcnow()
        return [with_next_run(info, now) for info in found]

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
        dataset: str | None = None,
        loop_run: str | None = None,
    ) -> PipelineRun:
        """Record a new run with its steps pending. A scheduled run claims its cron slot, a
        run triggered by a dataset (`dataset`, the version: "loans@7") claims that version,
        a loop's run (`loop_run`, trigger 'loop') claims that loop run: one started already
        (by another scheduler or runner) is a Conflict, so each runs once."""
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
        if (kind is Trigger.DATASET) != (dataset is not None):
            raise InvalidInput(
                "dataset (the version whose publication started the run, e.g. loans@7) is "
                "given with trigger 'dataset', and only then"
            )
        if (kind is Trigger.LOOP) != (loop_run is not None):
            raise InvalidInput(
                "loop_run (the loop run the pipeline runs for) is given with trigger 'loop', "
                "and only then"
            )
        published = parse_ref(dataset) if dataset is not None else None
        if published is not None and published.version is None:
            raise InvalidInput(
                f"name the version that started the run, e.g. {published.name}@7, not {dataset!r}"
            )
        run_id = uuid.uuid4().hex
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.PIPELINE_RUN, project, EntityKind.PIPELINE_RUN, run_id
            )
            info = tx.pipelines.get_pipeline(project, pipeline)
            if info is None:
                raise NotFound(
                    f"no pipeline {pipeline!r} in project {project!r}; running it with "
                    "relay pipelines run registers it"
                )
            if published is not None:
                self.require(
                    tx, who, Action.SCHEDULE_MANAGE, project, EntityKind.PIPELINE, pipeline
                )
                self._claim_version(tx, who, info, published)
            if kind is Trigger.SCHEDULE and scheduled_for is not None:
                self.require(
                    tx, who, Action.SCHEDULE_MANAGE, project, EntityKind.PIPELINE, pipeline
                )
                key = schedule_key(project, pipeline)
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
            if loop_run is not None:
                claim_pipeline(self, tx, who, roles, project, pipeline, loop_run, run_id)
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
                dataset=str(published) if published is not None else None,
                steps=[StepRun(s.name, StepStatus.PENDING, s.upstream) for s in graph],
            )
            tx.pipelines.create_run(run)
            payload = {
                "pipeline": pipeline,
                "trigger": kind.value,
                "executor": executor,
                "params": run.params,
                "scheduled_for": scheduled_for.isoformat() if scheduled_for else None,
                "dataset": run.dataset,
                "loop_run": loop_run,
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
        self.notifications.dispatch(pending)  # after the commit: the run's end is on record
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
