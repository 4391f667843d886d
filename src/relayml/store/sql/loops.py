"""Loops and their runs in SQL. A loop's settings and a run's record of steps are JSON columns,
written by the small codec here (never by the wire models)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from relayml.domain.loops import Loop, LoopRun, LoopSpec, LoopState, LoopStep, StepKind
from relayml.domain.monitors import AlertFamily
from relayml.domain.numbers import json_safe
from relayml.store.sql import schema as s
from relayml.store.sql._util import utc, utc_or_none

_L = s.loops.c
_R = s.loop_runs.c


def _spec_out(spec: LoopSpec) -> dict[str, Any]:
    return {
        "pipeline": spec.pipeline,
        "deployment": spec.deployment,
        "on": list(spec.on),
        "candidate_step": spec.candidate_step,
        "params": spec.params,
        "evaluate_on": spec.evaluate_on,
        "target": spec.target,
        "canary_percent": spec.canary_percent,
        "min_feedback": spec.min_feedback,
        "canary_timeout": spec.canary_timeout,
        "pipeline_timeout": spec.pipeline_timeout,
        "alpha": spec.alpha,
    }


def _spec_in(d: dict[str, Any]) -> LoopSpec:
    return LoopSpec(**{**d, "on": tuple(AlertFamily(f) for f in d.get("on", ()))})


def _step_out(step: LoopStep) -> dict[str, Any]:
    return {
        "kind": step.kind.value,
        "at": step.at.isoformat(),
        "actor": step.actor,
        "text": step.text,
        "detail": json_safe(step.detail),
    }


def _step_in(d: dict[str, Any]) -> LoopStep:
    from datetime import datetime

    return LoopStep(
        StepKind(d["kind"]), utc(datetime.fromisoformat(d["at"])), d["actor"], d["text"],
        dict(d.get("detail") or {}),
    )  # fmt: skip


def _loop(row: Any) -> Loop:
    return Loop(
        project=row.project,
        name=row.name,
        spec=_spec_in(dict(row.spec)),
        model=row.model,
        alias=row.alias,
        created_by=row.created_by,
        created_at=utc(row.created_at),
        detached_by=row.detached_by,
        detached_at=utc_or_none(row.detached_at),
        detach_reason=row.detach_reason,
    )


def _run(row: Any) -> LoopRun:
    return LoopRun(
        id=row.id,
        project=row.project,
        loop=row.loop,
        state=LoopState(row.state),
        trigger=row.trigger,
        reason=row.reason,
        started_by=row.started_by,
        started_at=utc(row.started_at),
        revision=int(row.revision),
        alert=row.alert,
        pipeline_run=row.pipeline_run,
        candidate=row.candidate,
        request=row.request,
        canary_since=utc_or_none(row.canary_since),
        ended_at=utc_or_none(row.ended_at),
        attempts=int(row.attempts),
        steps=tuple(_step_in(d) for d in row.steps or []),
    )


def _run_values(run: LoopRun) -> dict[str, Any]:
    return {
        "state": run.state.value,
        "revision": run.revision,
        "pipeline_run": run.pipeline_run,
        "candidate": run.candidate,
        "request": run.request,
        "canary_since": run.canary_since,
        "ended_at": run.ended_at,
        "attempts": run.attempts,
        "steps": [_step_out(st) for st in run.steps],
    }


class SqlLoops:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get_loop(self, project: str, name: str) -> Loop | None:
        row = self.conn.execute(
            select(s.loops).where(_L.project == project, _L.name == name)
        ).first()
        return _loop(row) if row is not None else None

    def list_loops(self, project: str) -> list[Loop]:
        q = select(s.loops).where(_L.project == project).order_by(_L.name)
        return [_loop(r) for r in self.conn.execute(q)]

    def insert_loop(self, loop: Loop) -> None:
        self.conn.execute(
            insert(s.loops).values(
                project=loop.project,
                name=loop.name,
                spec=_spec_out(loop.spec),
                model=loop.model,
                alias=loop.alias,
                created_by=loop.created_by,
                created_at=loop.created_at,
            )
        )

    def replace_loop(self, loop: Loop) -> None:
        self.conn.execute(
            update(s.loops)
            .where(_L.project == loop.project, _L.name == loop.name)
            .values(
                spec=_spec_out(loop.spec),
                model=loop.model,
                alias=loop.alias,
                created_by=loop.created_by,
                created_at=loop.created_at,
                detached_by=loop.detached_by,
                detached_at=loop.detached_at,
                detach_reason=loop.detach_reason,
            )
        )

    def insert_run(self, run: LoopRun) -> None:
        self.conn.execute(
            insert(s.loop_runs).values(
                id=run.id,
                project=run.project,
                loop=run.loop,
                trigger=run.trigger,
                reason=run.reason,
                alert=run.alert,
                started_by=run.started_by,
                started_at=run.started_at,
                **_run_values(run),
            )
        )

    def get_run(self, run_id: str, lock: bool = False) -> LoopRun | None:
        q = select(s.loop_runs).where(_R.id == run_id)
        if lock and self.conn.dialect.name == "postgresql":
            q = q.with_for_update()
        row = self.conn.execute(q).first()
        return _run(row) if row is not None else None

    def run_for_alert(self, project: str, loop: str, alert: str) -> LoopRun | None:
        row = self.conn.execute(
            select(s.loop_runs).where(_R.project == project, _R.loop == loop, _R.alert == alert)
        ).first()
        return _run(row) if row is not None else None

    def list_runs(
        self,
        project: str,
        loop: str | None = None,
        active: bool | None = None,
        limit: int = 100,
    ) -> list[LoopRun]:
        q = select(s.loop_runs).where(_R.project == project)
        if loop is not None:
            q = q.where(_R.loop == loop)
        ended = [st.value for st in LoopState if st.ended]
        if active is True:
            q = q.where(_R.state.not_in(ended))
        elif active is False:
            q = q.where(_R.state.in_(ended))
        q = q.order_by(_R.started_at.desc(), _R.id.desc()).limit(limit)
        return [_run(r) for r in self.conn.execute(q)]

    def update_run(self, run: LoopRun, read_revision: int) -> bool:
        done = self.conn.execute(
            update(s.loop_runs)
            .where(_R.id == run.id, _R.revision == read_revision)
            .values(**_run_values(run))
        )
        return bool(done.rowcount)
