"""The monitors' source for the shared scheduler (`relayml.scheduling`): every active monitor
is due every tick (a slot per minute, never claimed here), and starting it is
`backend.monitors.process`, whose lease makes a second runner's call return at once with
nothing done. Monitors the caller may not manage, or that vanish meanwhile, are skipped.

Each alert a pass opens is then handed to the project's loops (`backend.loops.on_alert`, by the
alert's family: data_drift, prediction_drift, performance, model_shift), which start a run of
every attached loop that reacts to it; `relay loops run` takes the runs on (docs/loops.md).

    relay monitors run              # every project, every 60 s, until Ctrl-C
    relay monitors run --once       # one pass (cron, tests)
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from relayml import scheduling
from relayml.client.base import Backend
from relayml.domain.loops import LoopRun
from relayml.domain.monitors import ProcessResult
from relayml.domain.scheduling import Schedule, ScheduleKey, ScheduleKind
from relayml.errors import NotFound, PermissionDenied, RelayError

EVERY_TICK = "* * * * *"


@dataclass(frozen=True)
class Outcome:
    project: str
    monitor: str
    result: ProcessResult | None
    error: str | None = None
    loop_runs: tuple[LoopRun, ...] = ()  # started by the alerts this pass opened


class MonitorSource:
    """The active monitors of `project` (or of every project the caller sees)."""

    def __init__(self, backend: Backend, project: str | None = None) -> None:
        self.backend, self.project = backend, project

    def projects(self) -> list[str]:
        if self.project is not None:
            return [self.project]
        return [p.name for p in self.backend.identity.list_projects()]

    def schedules(self) -> Iterator[Schedule]:
        for project in self.projects():
            try:
                monitors = self.backend.monitors.list_monitors(project)
            except (PermissionDenied, NotFound):
                continue
            for mon in monitors:
                if mon.active:
                    yield Schedule(ScheduleKey(ScheduleKind.MONITOR, project, mon.name), EVERY_TICK)

    def start(self, schedule: Schedule, slot: datetime) -> ProcessResult:
        return self.backend.monitors.process(schedule.key.project, schedule.key.name)


def tick(backend: Backend, project: str | None = None) -> list[Outcome]:
    """Process every active monitor once; what each did (or the error that stopped it)."""
    out = []
    for o in scheduling.tick([MonitorSource(backend, project)]):
        key = o.schedule.key
        error = o.error
        started: tuple[LoopRun, ...] = ()
        if o.result is not None and o.result.opened:
            try:
                started = hand_to_loops(backend, key.project, o.result.opened)
            except RelayError as exc:  # the windows and alerts are committed; say what failed
                error = f"the alerts opened, but the loops were not told: {exc.message}"
        out.append(Outcome(key.project, key.name, o.result, error, started))
    return out


def hand_to_loops(backend: Backend, project: str, alerts: tuple[str, ...]) -> tuple[LoopRun, ...]:
    """Tell the project's loops about newly opened alerts; the loop runs they started (one per
    loop at most: a loop with a run under way starts no other)."""
    started: list[LoopRun] = []
    for alert_id in alerts:
        alert = backend.monitors.get_alert(project, alert_id)
        started += backend.loops.on_alert(
            project, alert.deployment, alert.kind.family, alert.id, alert.title[:1000]
        )
    return tuple(started)


def serve(
    backend: Backend,
    *,
    project: str | None = None,
    interval: float = 60.0,
    report: Callable[[Outcome], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Tick every `interval` seconds until `stop` is set (or the process is interrupted)."""

    def once() -> None:
        for outcome in tick(backend, project):
            if report is not None:
                report(outcome)

    try:
        scheduling.repeat(once, interval=interval, stop=stop)
    except RelayError as exc:  # pragma: no cover - repeat reports these itself
        sys.stderr.write(f"relay monitors run: {exc.message}\n")
