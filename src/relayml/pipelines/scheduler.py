"""`relay scheduler`: start the pipelines whose cron slot has come, and those watching a dataset
that has a new version.

Pipelines are one source of the shared scheduler (`relayml.scheduling`): each registered
pipeline with a schedule is due for the newest cron slot after the one it last claimed (or
after the moment the schedule was set or resumed), so after downtime it runs once, for the
newest missed slot; a paused one is not due. Starting a run claims its slot in the database
(`PipelineService.start_run`), so two schedulers never run the same slot twice.

A pipeline with `on_publish` is started once per new usable version of a watched dataset
(`due_triggers`), oldest first; starting the run claims the version the same way, so a version
another scheduler started is skipped. A failed run is an event to the project's webhooks
(`services/notifications.py`); `--webhook URL` also sends it to that URL (`alerts.py`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from relayml import scheduling
from relayml.client.base import Backend
from relayml.domain.pipelines import DueTrigger, PipelineInfo, PipelineRun
from relayml.domain.scheduling import Schedule, ScheduleKey, ScheduleKind
from relayml.domain.tracking import RunStatus
from relayml.errors import Conflict, RelayError
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
            yield Schedule(
                key, info.schedule, info.schedule_since, info.last_scheduled, info.paused
            )

    def start(self, schedule: Schedule, slot: datetime) -> PipelineRun:
        return self._run(self.pipelines[schedule.key], trigger="schedule", scheduled_for=slot)

    def published(self) -> Iterator[tuple[PipelineInfo, DueTrigger]]:
        """The pipelines a new dataset version should start, with that version."""
        due = self.backend.pipelines.due_triggers(self.project)
        if not due:
            return
        infos = {
            (p.project, p.name): p for p in self.backend.pipelines.list_pipelines(self.project)
        }
        for trigger in due:
            info = infos.get((trigger.project, trigger.pipeline))
            if info is not None:
                yield info, trigger

    def start_published(self, info: PipelineInfo, trigger: DueTrigger) -> PipelineRun:
        """Claim the version and run; a Conflict if another scheduler started it first."""
        return self._run(info, trigger="dataset", dataset=trigger.ref)

    def _run(self, info: PipelineInfo, **trigger: Any) -> PipelineRun:
        from relayml.pipelines.runner import run_pipeline

        return run_pipeline(
            self.backend,
            info.module,
            project=info.project,
            params=info.params,
            executor=self.executor,
            env=self.env,
            **trigger,
        )


@dataclass
class Outcome:
    pipeline: PipelineInfo
    slot: datetime | None = None  # the cron slot it was started for, or
    run: PipelineRun | None = None
    error: str | None = None
    alerted: bool = False
    dataset: str | None = None  # the published version that started it ("loans@7")


def _alert(outcome: Outcome, webhook: str | None) -> Outcome:
    failed = outcome.error is not None or (
        outcome.run is not None and outcome.run.status is RunStatus.FAILED
    )
    if failed and webhook:
        event = (
            alerts.failure_event(outcome.run)
            if outcome.run is not None
            else alerts.not_started_event(
                outcome.pipeline, outcome.error or "", slot=outcome.slot, dataset=outcome.dataset
            )
        )
        secret = os.environ.get("RELAY_ALERT_WEBHOOK_SECRET") or None
        outcome.alerted = alerts.deliver(webhook, event, secret=secret)
    return outcome


def _outcome(source: PipelineSource, done: scheduling.Outcome, webhook: str | None) -> Outcome:
    info = source.pipelines[done.schedule.key]
    return _alert(Outcome(info, done.slot, done.result, done.error), webhook)


def _publications(source: PipelineSource, webhook: str | None) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for info, trigger in source.published():
        outcome = Outcome(info, dataset=trigger.ref)
        try:
            outcome.run = source.start_published(info, trigger)
        except Conflict:
            continue  # another scheduler started this version
        except RelayError as exc:
            outcome.error = exc.message
        outcomes.append(_alert(outcome, webhook))
    return outcomes


def tick(
    backend: Backend,
    *,
    now: datetime | None = None,
    executor: str = "local",
    webhook: str | None = None,
    env: dict[str, str] | None = None,
    project: str | None = None,
) -> list[Outcome]:
    """Start every due pipeline once (one after the other), then one run per new version of
    a watched dataset; return what happened."""
    source = PipelineSource(backend, executor=executor, env=env, project=project)
    outcomes = [_outcome(source, o, webhook) for o in scheduling.tick([source], now=now)]
    return outcomes + _publications(source, webhook)


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

    def once() -> None:
        for outcome in tick(backend, executor=executor, webhook=webhook, env=env):
            if report is not None:
                report(outcome)

    scheduling.repeat(once, interval=interval, stop=stop)
