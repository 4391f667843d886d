"""Backfilling: one run per past cron slot of a range, oldest first, each recorded with trigger
`backfill` and its slot (`scheduled_for`; a pipeline parameter named `slot` receives it).

The plan comes from the service (`backfill_plan`: the slots, less those a run already
finished); the runs are started here, where the steps run, one after the other on one executor.
The schedule's claim state is never touched, so the live schedule goes on meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from relayml.client.base import Backend
from relayml.domain.pipelines import BackfillPlan, PipelineRun
from relayml.domain.scheduling import parse_moment
from relayml.domain.tracking import RunStatus
from relayml.errors import UserCodeError
from relayml.executors.base import Executor, get_executor
from relayml.pipelines.dag import Pipeline
from relayml.pipelines.runner import register, run_pipeline

Moment = datetime | date | str


@dataclass
class Backfill:
    """What a backfill did: its plan (slots run and skipped) and the runs, oldest slot first."""

    plan: BackfillPlan
    runs: list[PipelineRun] = field(default_factory=list)

    @property
    def failed(self) -> list[PipelineRun]:
        return [r for r in self.runs if r.status is not RunStatus.FINISHED]

    def raise_for_status(self) -> Backfill:
        """Raise UserCodeError naming the failed slots if any backfilled run failed."""
        failed = self.failed
        if not failed:
            return self
        slots = ", ".join(r.scheduled_for.isoformat() for r in failed if r.scheduled_for)
        raise UserCodeError(
            f"{len(failed)} of {len(self.runs)} backfilled runs of pipeline "
            f"{self.plan.pipeline!r} failed (slots {slots}); see them with: relay pipelines "
            f"show RUN. Backfilling the range again runs only the slots without a finished run",
            failed_runs=[r.id for r in failed],
        )


def backfill(
    backend: Backend,
    target: Pipeline[Any] | str,
    start: Moment,
    end: Moment,
    *,
    project: str,
    every: str | None = None,
    rerun: bool = False,
    params: dict[str, Any] | None = None,
    executor: str | Executor = "local",
    no_cache: bool = False,
    max_workers: int | None = None,
    env: dict[str, str] | None = None,
    on_plan: Callable[[BackfillPlan], None] | None = None,
    on_run: Callable[[PipelineRun], None] | None = None,
) -> Backfill:
    """Run the pipeline once per slot of [start, end] not yet done (every slot with `rerun`).

    `target` is a registered pipeline's name, or the pipeline itself (an object or
    "file.py:name"), registered first. A bare date as `end` includes that day. A failed run
    does not stop the others; see `Backfill.failed` and `raise_for_status`."""
    begin = parse_moment(start, "--from")
    finish = parse_moment(end, "--to", end_of_day=True)
    code: Pipeline[Any] | str
    if isinstance(target, str) and ":" not in target:
        name, code = target, backend.pipelines.get_pipeline(project, target).module
    else:
        pipe, _ref, _graph = register(backend, target, project, params)
        name, code = pipe.name, pipe
    plan = backend.pipelines.backfill_plan(project, name, begin, finish, every=every, rerun=rerun)
    if on_plan is not None:
        on_plan(plan)
    done = Backfill(plan)
    if not plan.slots:
        return done
    runner = get_executor(executor, max_workers) if isinstance(executor, str) else executor
    try:
        for slot in plan.slots:
            run = run_pipeline(
                backend, code, project=project, params=params, executor=runner,
                no_cache=no_cache, trigger="backfill", scheduled_for=slot, env=env,
            )  # fmt: skip
            done.runs.append(run)
            if on_run is not None:
                on_run(run)
    finally:
        if isinstance(executor, str):
            runner.close()
    return done
