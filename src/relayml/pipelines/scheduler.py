"""`relay scheduler`: start the pipelines whose cron slot has come.

Pipelines are one source of the shared scheduler (`relayml.scheduling`): each registered
pipeline with a schedule is due for the newest cron slot after the one it last claimed (or
after the moment the schedule was set), so after downtime it runs once, for the newest missed
slot. Starting a run claims its slot in the database (`PipelineService.start_run`), so two
schedulers never run the same slot twice. A failed run is an event to the project's webhooks
(`services/notifications.py`); `--webhook URL` also sends it to that URL (`alerts.py`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from relayml import scheduling
from relayml.client.base import Backend
from relayml.domain.pipelines import PipelineInfo, PipelineRun
from relayml.domain.scheduling import Schedule, ScheduleKey, ScheduleKind
from relayml.domain.tracking import RunStatus
from relayml.pipelines import alerts


class PipelineSource:
    """The scheduled pipelines the backend's principal may read, started as runs."""

    def __init__(
        self,
        backend: Backend,
        *,
        executor: str = "local",
        env: dict[str, str] | None = None,
        project: str | None = None,
    ) -> None:
        self.backend, self.executor, self.env, self.project = backend, executor, env, project
        self.pipelines: dict[ScheduleKey, PipelineInfo] = {}

    def schedules(self) -> Iterator[Schedule]:
        for info in self.backend.pipelines.list_pipelines(self.project, scheduled=True):
            if info.schedule is None:
                continue
            key = ScheduleKey(ScheduleKind.PIPELINE, info.project, info.name)
            self.pipelines[key] = info
            yield Schedule(key, info.schedule, info.schedule_since, info.last_scheduled)

    def start(self, schedule: Schedule, slot: datetime) -> PipelineRun:
        from relayml.pipelines.runner import run_pipeline

        info = self.pipelines[schedule.key]
        return run_pipeline(
            self.backend,
            info.module,
            project=info.project,
            params=info.params,
            executor=self.executor,
            trigger="schedule",
            scheduled_for=slot,
            env=self.env,
        )


@dataclass
class Outcome:
    pipeline: PipelineInfo
    slot: datetime
    run: PipelineRun | None = None
    error: str | None = None
    alerted: bool = False


def _outcome(source: PipelineSource, done: scheduling.Outcome, webhook: str | None) -> Outcome:
    info = source.pipelines[done.schedule.key]
    outcome = Outcome(info, done.slot, done.result, done.error)
    failed = outcome.error is not None or (
        outcome.run is not None and outcome.run.status is RunStatus.FAILED
    )
    if failed and webhook:
        event = (
            alerts.failure_event(outcome.run)
            if outcome.run is not None
            else alerts.not_started_event(info, done.slot, outcome.error or "")
        )
        secret = os.environ.get("RELAY_ALERT_WEBHOOK_SECRET") or None
        outcome.alerted = alerts.deliver(webhook, event, secret=secret)
    return outcome


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
    source = PipelineSource(backend, executor=executor, env=env, project=project)
    return [_outcome(source, o, webhook) for o in scheduling.tick([source], now=now)]


def serve(
    backend: Backend,
    *,
    interval: float = 30.0,
    executor: str = "local",
    webhook: str | None = None,
    env: dict[str, str] | None = None,
    report: Callable[[Outcome], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Tick every `interval` seconds until interrupted (or `stop` is set)."""
    source = PipelineSource(backend, executor=executor, env=env)

    def each(done: scheduling.Outcome) -> None:
        outcome = _outcome(source, done, webhook)
        if report is not None:
            report(outcome)

    scheduling.serve([source], interval=interval, report=each, stop=stop)
