"""Registered pipelines, pipeline runs and step runs in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, func, or_, select, update

from relayml.domain.datasets import DatasetStatus
from relayml.domain.pipelines import (
    DatasetTrigger,
    DueTrigger,
    PipelineInfo,
    PipelineRun,
    StepOutput,
    StepRun,
    StepSpec,
    StepStatus,
    Trigger,
)
from relayml.domain.scheduling import ScheduleKind
from relayml.domain.tracking import RunStatus
from relayml.store.sql import schema as s
from relayml.store.sql._util import utc, utc_or_none
from relayml.store.sql.scheduling import pause_of


# The JSON columns' own codec (`pipelines.steps`, `pipeline_steps.output`): the stored shape is
# the store's to keep, whatever the API writes.
def _spec_doc(spec: StepSpec) -> dict[str, Any]:
    return {"name": spec.name, "upstream": list(spec.upstream)}


def _spec(doc: dict[str, Any]) -> StepSpec:
    return StepSpec(doc["name"], tuple(doc.get("upstream") or ()))


def _output_doc(output: StepOutput) -> dict[str, Any]:
    return {
        "kind": output.kind,
        "digest": output.digest,
        "value": output.value,
        "ref": output.ref,
        "format": output.format,
        "name": output.name,
        "size": output.size,
    }


def _output(doc: dict[str, Any]) -> StepOutput:
    return StepOutput(
        kind=doc["kind"],
        digest=doc["digest"],
        value=doc.get("value"),
        ref=doc.get("ref"),
        format=doc.get("format"),
        name=doc.get("name"),
        size=int(doc.get("size") or 0),
    )


def _pipeline(row: Row[Any]) -> PipelineInfo:
    return PipelineInfo(
        project=row.project,
        name=row.name,
        module=row.module,
        schedule=row.schedule,
        params=dict(row.params or {}),
        steps=[_spec(d) for d in row.steps or []],
        created_at=utc(row.created_at),
        created_by=row.created_by,
        updated_at=utc(row.updated_at),
        last_scheduled=utc_or_none(row.last_slot),
        schedule_since=utc_or_none(row.since),
        paused=pause_of(row),
    )


def _run(row: Row[Any]) -> PipelineRun:
    return PipelineRun(
        id=row.id,
        project=row.project,
        pipeline=row.pipeline,
        trigger=Trigger(row.trigger),
        executor=row.executor,
        params=dict(row.params or {}),
        status=RunStatus(row.status),
        user=row.user,
        started_at=utc(row.started_at),
        ended_at=utc_or_none(row.ended_at),
        error=row.error,
        scheduled_for=utc_or_none(row.scheduled_for),
        dataset=row.dataset,
    )


def _step(row: Row[Any]) -> StepRun:
    return StepRun(
        name=row.name,
        status=StepStatus(row.status),
        upstream=tuple(row.upstream or ()),
        attempts=int(row.attempts),
        cache_key=row.cache_key,
        cached=bool(row.cached),
        output=_output(row.output) if row.output else None,
        logs_digest=row.logs_digest,
        error=row.error,
        user_traceback=row.user_traceback,
        started_at=utc_or_none(row.started_at),
        ended_at=utc_or_none(row.ended_at),
    )


_USABLE = [DatasetStatus.VALID.value, DatasetStatus.RELEASED.value]

# A pipeline with its schedule's claim state (since, last slot, pause) from schedule_claims.
_claims = s.schedule_claims.c
_WITH_CLAIMS = select(
    s.pipelines,
    _claims.since,
    _claims.last_slot,
    _claims.paused_at,
    _claims.paused_by,
    _claims.pause_reason,
).select_from(
    s.pipelines.outerjoin(
        s.schedule_claims,
        and_(
            _claims.kind == ScheduleKind.PIPELINE.value,
            _claims.project == s.pipelines.c.project,
            _claims.name == s.pipelines.c.name,
        ),
    )
)


class SqlPipelines:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # pipelines ---------------------------------------------------------------------------
    def get_pipeline(self, project: str, name: str) -> PipelineInfo | None:
        p = s.pipelines.c
        row = self.conn.execute(_WITH_CLAIMS.where(p.project == project, p.name == name)).first()
        if row is None:
            return None
        info = _pipeline(row)
        info.on_publish = self._triggers([project]).get((project, name), [])
        return info

    def save_pipeline(self, info: PipelineInfo) -> None:
        values = {
            "module": info.module,
            "schedule": info.schedule,
            "params": info.params,
            "steps": [_spec_doc(st) for st in info.steps],
            "updated_at": info.updated_at,
        }
        p = s.pipelines.c
        done = self.conn.execute(
            update(s.pipelines)
            .where(p.project == info.project, p.name == info.name)
            .values(**values)
        )
        if done.rowcount == 0:
            self.conn.execute(
                s.pipelines.insert().values(
                    project=info.project,
                    name=info.name,
                    created_at=info.created_at,
                    created_by=info.created_by,
                    **values,
                )
            )

    def list_pipelines(
        self, projects: Sequence[str] | None, scheduled: bool = False
    ) -> list[PipelineInfo]:
        p = s.pipelines.c
        q = _WITH_CLAIMS.order_by(p.project, p.name)
        if projects is not None:
            q = q.where(p.project.in_(list(projects)))
        if scheduled:
            q = q.where(p.schedule.is_not(None))
        found = [_pipeline(r) for r in self.conn.execute(q)]
        triggers = self._triggers(projects)
        for info in found:
            info.on_publish = triggers.get((info.project, info.name), [])
        return found

    # dataset triggers ----------------------------------------------------------------------
    def _triggers(
        self, projects: Sequence[str] | None
    ) -> dict[tuple[str, str], list[DatasetTrigger]]:
        t = s.dataset_triggers.c
        q = select(t.project, t.pipeline, t.dataset, t.last_version).order_by(t.dataset)
        if projects is not None:
            q = q.where(t.project.in_(list(projects)))
        found: dict[tuple[str, str], list[DatasetTrigger]] = {}
        for row in self.conn.execute(q):
            trigger = DatasetTrigger(row.dataset, int(row.last_version))
            found.setdefault((row.project, row.pipeline), []).append(trigger)
        return found

    def _newest_version(self, project: str, dataset: str) -> int:
        """The newest version number of a dataset, whatever its state; 0 if it has none."""
        d, v = s.datasets.c, s.dataset_versions.c
        newest = self.conn.execute(
            select(func.max(v.version))
            .select_from(s.dataset_versions.join(s.datasets))
            .where(d.project == project, d.name == dataset)
        ).scalar()
        return int(newest or 0)

    def set_triggers(self, project: str, pipeline: str, datasets: list[str], now: datetime) -> None:
        """Watch exactly `datasets`. A new watch starts after the dataset's newest version, so
        versions that exist already never start the pipeline; a kept one keeps its place."""
        t = s.dataset_triggers.c
        mine = (t.project == project, t.pipeline == pipeline)
        self.conn.execute(delete(s.dataset_triggers).where(*mine, t.dataset.not_in(datasets)))
        kept = {row.dataset for row in self.conn.execute(select(t.dataset).where(*mine))}
        for name in datasets:
            if name not in kept:
                self.conn.execute(
                    s.dataset_triggers.insert().values(
                        project=project,
                        pipeline=pipeline,
                        dataset=name,
                        last_version=self._newest_version(project, name),
                        since=now,
                    )
                )

    def skip_published(self, project: str, pipeline: str) -> None:
        """Move each watch past the dataset's newest version (a resume: what was published
        while the pipeline was paused does not start it)."""
        t = s.dataset_triggers.c
        mine = (t.project == project, t.pipeline == pipeline)
        for row in self.conn.execute(select(t.dataset, t.last_version).where(*mine)).all():
            newest = self._newest_version(project, row.dataset)
            if newest > row.last_version:
                self.conn.execute(
                    update(s.dataset_triggers)
                    .where(*mine, t.dataset == row.dataset, t.last_version < newest)
                    .values(last_version=newest)
                )

    def claim_trigger(
        self, project: str, pipeline: str, dataset: str, version: int, by: str, now: datetime
    ) -> bool:
        """Claim `version` of a watched dataset unless it or a later version started the
        pipeline already: exactly one caller wins."""
        t = s.dataset_triggers.c
        done = self.conn.execute(
            update(s.dataset_triggers)
            .where(
                t.project == project,
                t.pipeline == pipeline,
                t.dataset == dataset,
                t.last_version < version,
            )
            .values(last_version=version, claimed_at=now, claimed_by=by)
        )
        return bool(done.rowcount)

    def due_triggers(self, projects: Sequence[str], limit: int) -> list[DueTrigger]:
        """Usable versions (valid or released, not deprecated) of watched datasets newer than
        each watch's last version, of pipelines not paused; oldest first per watch."""
        t, d, v = s.dataset_triggers.c, s.datasets.c, s.dataset_versions.c
        paused = (
            select(_claims.name)
            .where(
                _claims.kind == ScheduleKind.PIPELINE.value,
                _claims.project == t.project,
                _claims.name == t.pipeline,
                _claims.paused_at.is_not(None),
            )
            .exists()
        )
        q = (
            select(t.project, t.pipeline, t.dataset, v.version)
            .select_from(
                s.dataset_triggers.join(
                    s.datasets, and_(d.project == t.project, d.name == t.dataset)
                ).join(s.dataset_versions, v.dataset_id == d.id)
            )
            .where(
                t.project.in_(list(projects)),
                v.version > t.last_version,
                v.status.in_(_USABLE),
                v.deprecated_at.is_(None),
                ~paused,
            )
            .order_by(t.project, t.pipeline, t.dataset, v.version)
            .limit(limit)
        )
        return [
            DueTrigger(r.project, r.pipeline, r.dataset, int(r.version))
            for r in self.conn.execute(q)
        ]

    # runs --------------------------------------------------------------------------------
    def create_run(self, run: PipelineRun) -> None:
        self.conn.execute(
            s.pipeline_runs.insert().values(
                id=run.id,
                project=run.project,
                pipeline=run.pipeline,
                trigger=run.trigger.value,
                executor=run.executor,
                params=run.params,
                status=run.status.value,
                user=run.user,
                started_at=run.started_at,
                ended_at=None,
                error=None,
                scheduled_for=run.scheduled_for,
                dataset=run.dataset,
            )
        )
        rows = [
            {
                "run_id": run.id,
                "name": st.name,
                "position": i,
                "upstream": list(st.upstream),
                "status": st.status.value,
                "attempts": 0,
                "cache_key": None,
                "cached": False,
                "output": None,
                "output_digest": None,
                "logs_digest": None,
                "error": None,
                "user_traceback": None,
                "started_at": None,
                "ended_at": None,
            }
            for i, st in enumerate(run.steps)
        ]
        if rows:
            self.conn.execute(s.pipeline_steps.insert(), rows)

    def get_run(self, run_id: str, with_steps: bool = True) -> PipelineRun | None:
        row = self.conn.execute(
            select(s.pipeline_runs).where(s.pipeline_runs.c.id == run_id)
        ).first()
        if row is None:
            return None
        run = _run(row)
        if with_steps:
            st = s.pipeline_steps.c
            q = select(s.pipeline_steps).where(st.run_id == run_id).order_by(st.position)
            run.steps = [_step(r) for r in self.conn.execute(q)]
        return run

    def list_runs(self, project: str, pipeline: str | None, limit: int) -> list[PipelineRun]:
        r = s.pipeline_runs.c
        q = select(s.pipeline_runs).where(r.project == project)
        if pipeline is not None:
            q = q.where(r.pipeline == pipeline)
        q = q.order_by(r.started_at.desc(), r.id).limit(limit)
        return [_run(row) for row in self.conn.execute(q)]

    def finished_slots(
        self, project: str, pipeline: str, first: datetime, last: datetime
    ) -> dict[datetime, str]:
        """The slots in [first, last] that a run of the pipeline finished, each with the id of
        its newest finished run."""
        r = s.pipeline_runs.c
        q = (
            select(r.scheduled_for, r.id)
            .where(
                r.project == project,
                r.pipeline == pipeline,
                r.status == RunStatus.FINISHED.value,
                r.scheduled_for >= first,
                r.scheduled_for <= last,
            )
            .order_by(r.started_at)
        )
        return {utc(row.scheduled_for): row.id for row in self.conn.execute(q)}

    def finish_run(self, run_id: str, status: RunStatus, error: str | None, now: datetime) -> None:
        self.conn.execute(
            update(s.pipeline_runs)
            .where(s.pipeline_runs.c.id == run_id)
            .values(status=status.value, error=error, ended_at=now)
        )

    # steps -------------------------------------------------------------------------------
    def get_step(self, run_id: str, name: str) -> StepRun | None:
        st = s.pipeline_steps.c
        row = self.conn.execute(
            select(s.pipeline_steps).where(st.run_id == run_id, st.name == name)
        ).first()
        return _step(row) if row else None

    def save_step(self, run_id: str, step: StepRun) -> None:
        st = s.pipeline_steps.c
        self.conn.execute(
            update(s.pipeline_steps)
            .where(st.run_id == run_id, st.name == step.name)
            .values(
                status=step.status.value,
                attempts=step.attempts,
                cache_key=step.cache_key,
                cached=step.cached,
                output=_output_doc(step.output) if step.output else None,
                output_digest=step.output.blob if step.output else None,
                logs_digest=step.logs_digest,
                error=step.error,
                user_traceback=step.user_traceback,
                started_at=step.started_at,
                ended_at=step.ended_at,
            )
        )

    def find_cached(self, project: str, cache_key: str) -> StepOutput | None:
        """The output of the newest step run in `project` that finished with this cache key."""
        st, r = s.pipeline_steps.c, s.pipeline_runs.c
        q = (
            select(st.output)
            .select_from(s.pipeline_steps.join(s.pipeline_runs))
            .where(
                r.project == project,
                st.cache_key == cache_key,
                st.status.in_([StepStatus.FINISHED.value, StepStatus.CACHED.value]),
                st.output.is_not(None),
            )
            .order_by(st.ended_at.desc())
            .limit(1)
        )
        row = self.conn.execute(q).first()
        return _output(row[0]) if row and row[0] else None

    def blob_in_project(self, project: str, digest: str) -> bool:
        """Whether a step run of `project` refers to this blob (as its output or its logs)."""
        st, r = s.pipeline_steps.c, s.pipeline_runs.c
        q = (
            select(st.run_id)
            .select_from(s.pipeline_steps.join(s.pipeline_runs))
            .where(
                and_(
                    r.project == project,
                    or_(st.output_digest == digest, st.logs_digest == digest),
                )
            )
            .limit(1)
        )
        return self.conn.execute(q).first() is not None

    def run_project(self, run_id: str) -> str | None:
        r = s.pipeline_runs.c
        row = self.conn.execute(select(r.project).where(r.id == run_id)).first()
        return str(row[0]) if row else None
