"""`relay scheduler`: start the pipelines whose cron slot has come.

Each registered pipeline with a schedule remembers the last slot it was started for. On each
tick, the newest slot at or before `now` is due if it is later than that (or than the moment
the schedule was set): so after downtime a pipeline runs once, for the newest missed slot,
not once per slot. Starting a run claims its slot in the database, so two schedulers never
run the same slot twice. A failed scheduled run is sent to the alert webhook.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from relayml.client.base import Backend
from relayml.domain.pipelines import PipelineInfo, PipelineRun
from relayml.domain.tracking import RunStatus
from relayml.errors import Conflict, RelayError
from relayml.pipelines import alerts


def due_slot(info: PipelineInfo, now: datetime) -> datetime | None:
    """The cron slot to run now, or None if the newest slot has been run already."""
    if info.schedule is None:
        return None
    from croniter import croniter

    slot: datetime = croniter(info.schedule, now).get_prev(datetime)
    if now.tzinfo is not None and slot.tzinfo is None:
        slot = slot.replace(tzinfo=now.tzinfo)
    since = info.last_scheduled or info.schedule_since
    if since is not None and slot <= since:
        return None
    return slot


@dataclass
class Outcome:
    pipeline: PipelineInfo
    slot: datetime
    run: PipelineRun | None = None
    error: str | None = None
    alerted: bool = False


def tick(
    backend: Backend,
    *,
    now: datetime | None = None,
    executor: str = "local",
    webhook: str | None = None,
    env: dict[str, str] | None = None,
    project: str | None = None,
) -> list[Outcome]:
    """Start every due pipeline once (one after the other); return what happened."""
    from relayml.pipelines.runner import run_pipeline

    moment = now or datetime.now(UTC)
    outcomes: list[Outcome] = []
    for info in backend.list_pipelines(project, scheduled=True):
        slot = due_slot(info, moment)
        if slot is None:
            continue
        outcome = Outcome(info, slot)
        try:
            outcome.run = run_pipeline(
                backend,
                info.module,
                project=info.project,
                params=info.params,
                executor=executor,
                trigger="schedule",
                scheduled_for=slot,
                env=env,
            )
        except Conflict:
            continue  # another scheduler started this slot
        except RelayError as exc:
            outcome.error = exc.message
        failed = outcome.error is not None or (
            outcome.run is not None and outcome.run.status is RunStatus.FAILED
        )
        if failed and webhook:
            event = (
                alerts.failure_event(outcome.run)
                if outcome.run is not None
                else {
                    "event": "pipeline_run_failed",
                    "project": info.project,
                    "pipeline": info.name,
                    "run_id": None,
                    "scheduled_for": slot.isoformat(),
                    "failed_steps": [],
                    "error": outcome.error,
                    "text": f"Relay: pipeline {info.project}/{info.name} could not start: "
                    f"{outcome.error}",
                }
            )
            outcome.alerted = alerts.deliver(webhook, event)
        outcomes.append(outcome)
    return outcomes


def serve(
    backend: Backend,
    *,
    interval: float = 30.0,
    executor: str = "local",
    webhook: str | None = None,
    env: dict[str, str] | None = None,
    report: Callable[[Outcome], None] | None = None,
) -> None:
    """Tick every `interval` seconds until interrupted."""
    while True:
        try:
            for outcome in tick(backend, executor=executor, webhook=webhook, env=env):
                if report is not None:
                    report(outcome)
        except RelayError as exc:  # e.g. the server is briefly unreachable: try again later
            sys.stderr.write(f"relay scheduler: {exc.message}\n")
        time.sleep(interval)
