"""`relay monitors run`: one pass processes every active monitor, then hands the alerts to the
project's loops and drives them, so an alert starts its retraining with no person in between.

Each pass, per project:

1. **monitors**: the monitors' source for the shared scheduler (`relayml.scheduling`): every
   active monitor is due every tick (a slot per minute, never claimed here), and starting it
   is `backend.monitors.process`, whose lease makes a second runner's call return at once
   with nothing done. Monitors the caller may not manage, or that vanish meanwhile, are
   skipped;
2. **model shift**: a monitor that keeps its live server's URL (`endpoint`) and whose newest
   check is older than its `check_every` has the server checked (`shift.check_monitor`: the
   served digest and the golden-set replay, recorded on the monitor, where a failure alerts
   at once and a pass resolves). Requests time out (`CHECK_TIMEOUT`), and a server that does
   not answer is reported on the monitor's outcome with nothing recorded (it cannot say what
   it serves); the pass goes on with the other monitors;
3. **alerts to loops**: every live alert (opened in this pass or still open) whose family an
   attached loop on its deployment reacts to is handed to `backend.loops.on_alert`, which
   starts at most one run per alert, and none while the loop has a run under way or for an
   alert that was already open when the loop's newest run started (that run answers it);
4. **loops**: when the project has loops, one turn of their runner (`relayml.loops.tick`):
   Relay moves each run as far as it can, the pipelines of runs waiting for one run here,
   canaries are compared. With `--once` (`tick`) the turn is taken inside the pass. Run
   continuously (`serve`), the pass offers the project to a `LoopDriver` instead: one
   worker thread takes the turns, a project at a time, so a retraining that takes an hour
   holds up no monitor; a project already queued or under way is not queued twice. Stopping
   the runner (Ctrl-C, SIGTERM, `stop`) cancels the pipeline under way: its steps are
   killed, its run ends `killed`, and the loop run starts it again at the next runner.

    relay monitors run              # every project, every 60 s, until Ctrl-C
    relay monitors run --once       # one pass (cron, tests)
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from relayml import scheduling
from relayml.client.base import Backend
from relayml.domain.loops import Loop, LoopRun
from relayml.domain.monitors import Alert, Check, Monitor, ProcessResult
from relayml.domain.scheduling import Schedule, ScheduleKey, ScheduleKind
from relayml.errors import NotFound, PermissionDenied, RelayError

if TYPE_CHECKING:
    from relayml.loops import Turn

EVERY_TICK = "* * * * *"
CHECK_TIMEOUT = 30.0  # seconds a model server has to answer one request of a check
CONNECT_TIMEOUT = 5.0
MAX_ALERTS = 1000  # live alerts handed to loops per project and pass
RUNS_LOOKED_AT = 100  # a loop's newest runs, to skip alerts it has answered already
STOP_WAIT = 60.0  # seconds `serve` waits, when stopped, for the loops' worker to end


@dataclass(frozen=True)
class Outcome:
    """What a pass did for one monitor: its processing (or the error that stopped it) and the
    loop runs its alerts started."""

    project: str
    monitor: str
    result: ProcessResult | None
    error: str | None = None
    loop_runs: tuple[LoopRun, ...] = ()  # started by its alerts in this pass
    checks: tuple[Check, ...] = ()  # model-shift checks of its endpoint recorded in this pass
    check_error: str | None = None  # why its endpoint could not be checked


@dataclass(frozen=True)
class LoopsOutcome:
    """What a pass did for one project's loops: each run's turn, or why none was taken."""

    project: str
    turns: tuple[Turn, ...] = ()
    error: str | None = None


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


def check_due(backend: Backend, project: str, mon: Monitor, now: datetime) -> bool:
    """Whether `mon` keeps an endpoint and its newest model-shift check (by anyone) is older
    than its `check_every`."""
    if mon.config.endpoint is None or not mon.active:
        return False
    last = backend.monitors.checks(project, mon.name, limit=1)
    return not last or (now - last[-1].at).total_seconds() >= mon.config.check_every


def check_endpoints(
    backend: Backend, out: list[Outcome], *, settle: float, timeout: float = CHECK_TIMEOUT
) -> None:
    """The model-shift checks of the monitors in `out` that a runner processed in this pass
    (it held the lease) and whose check is due; each outcome replaced with what was done."""
    import httpx

    from relayml.monitoring.shift import check_monitor

    now = datetime.now(UTC)
    limits = httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT))
    with httpx.Client(timeout=limits) as http:
        for i, o in enumerate(out):
            if o.result is None or not o.result.claimed:
                continue
            try:
                mon = backend.monitors.get(o.project, o.monitor)
                if not check_due(backend, o.project, mon, now):
                    continue
                _, done = check_monitor(backend, o.project, mon.name, settle=settle, client=http)
            except RelayError as exc:  # a dead server: said, nothing recorded, the pass goes on
                out[i] = replace(o, check_error=f"model-shift check: {exc.message}")
            else:
                out[i] = replace(o, checks=tuple(done))


def reacts(loop: Loop, alert: Alert) -> bool:
    """Whether `loop` starts a run on `alert` (attached, on its deployment, its family)."""
    spec = loop.spec
    return loop.attached and spec.deployment == alert.deployment and alert.kind.family in spec.on


def hand_to_loops(backend: Backend, project: str, loops: list[Loop]) -> list[tuple[Alert, LoopRun]]:
    """Hand `project`'s live alerts to the loops that react to them, oldest alert first; the
    runs started, each with its alert. An alert is passed over when the loop has a run under
    way, has answered it already, or started its newest run after the alert opened."""
    reacting = [loop for loop in loops if loop.attached and loop.spec.on]
    if not reacting:
        return []
    alerts = backend.monitors.list_alerts(project, limit=MAX_ALERTS)
    started: dict[str, tuple[Alert, LoopRun]] = {}
    for loop in reacting:
        if any(run.loop == loop.name for _, run in started.values()):
            continue  # an alert handed to another loop started this one too
        runs = backend.loops.list_runs(project, loop.name, RUNS_LOOKED_AT)
        if any(not r.ended for r in runs):
            continue  # one run at a time; on_alert would refuse it too
        answered = {r.alert for r in runs if r.alert is not None}
        newest = runs[0].started_at if runs else None
        for alert in sorted(alerts, key=lambda a: a.opened_at):
            if not reacts(loop, alert) or alert.id in answered:
                continue
            if newest is not None and alert.opened_at <= newest:
                continue
            made = backend.loops.on_alert(
                project, alert.deployment, alert.kind.family.value, alert.id, alert.title[:1000]
            )
            started.update((r.id, (alert, r)) for r in made)
            if any(r.loop == loop.name for r in made):
                break  # the loop has a run under way now
    return list(started.values())


def tick(
    backend: Backend,
    project: str | None = None,
    *,
    loops: bool = True,
    checks: bool = True,
    settle: float = 10.0,
    timeout: float = CHECK_TIMEOUT,
    executor: str = "local",
    env: dict[str, str] | None = None,
    on_loops: Callable[[LoopsOutcome], None] | None = None,
    driver: LoopDriver | None = None,
    cancel: threading.Event | None = None,
) -> list[Outcome]:
    """One pass (see the module's docstring): what it did for each monitor. With `checks`,
    the monitors' endpoints are checked for model shift when due (a difference from the
    registry is asked again for up to `settle` seconds, the time a server takes to follow
    it; each request has `timeout` seconds). With `loops`,
    alerts are handed to the projects' loops and the loops driven; what that did is handed
    to `on_loops`, one `LoopsOutcome` per project with loops. `executor` and `env` are the
    loops' pipelines' (`relayml.loops.tick`). With a `driver`, the loops' turns are offered
    to it, not taken here (an alert the loops were not told of is reported at once); without,
    setting `cancel` from another thread cancels the pipeline they run (`relayml.loops.tick`)."""
    from relayml.loops import tick as loops_tick

    out: list[Outcome] = []
    for done in scheduling.tick([MonitorSource(backend, project)]):
        key = done.schedule.key
        out.append(Outcome(key.project, key.name, done.result, done.error))
    if checks:
        check_endpoints(backend, out, settle=settle, timeout=timeout)
    if not loops:
        return out
    for proj in dict.fromkeys(o.project for o in out):
        try:
            attached = backend.loops.list_loops(proj)
        except (PermissionDenied, NotFound):
            continue
        if not attached:
            continue
        error = None
        try:
            for alert, run in hand_to_loops(backend, proj, attached):
                for i, o in enumerate(out):
                    if (o.project, o.monitor) == (proj, alert.monitor):
                        out[i] = replace(o, loop_runs=(*o.loop_runs, run))
        except RelayError as exc:  # the windows and alerts are committed; say what failed
            error = f"the loops were not told of the alerts: {exc.message}"
        if driver is not None:
            if error is not None and on_loops is not None:
                on_loops(LoopsOutcome(proj, (), error))
            driver.offer(proj)
            continue
        turns: list[Turn] = []
        try:
            turns = loops_tick(backend, proj, executor=executor, env=env, cancel=cancel)
        except RelayError as exc:
            error = "; ".join(filter(None, [error, f"the loops did not run: {exc.message}"]))
        if on_loops is not None:
            on_loops(LoopsOutcome(proj, tuple(turns), error))
    return out


def once(
    backend: Backend,
    project: str | None = None,
    *,
    loops: bool = True,
    env: dict[str, str] | None = None,
    on_loops: Callable[[LoopsOutcome], None] | None = None,
    stop_wait: float = STOP_WAIT,
) -> list[Outcome]:
    """One `tick` (`relay monitors run --once`) in a worker thread, so that Ctrl-C or SIGTERM
    cancels a loop's pipeline under way (killed, its loop run back to `triggered`) instead of
    cutting it short (recorded failed)."""
    done: list[Outcome] = []

    def one_pass(cancel: threading.Event) -> None:
        done.extend(tick(backend, project, loops=loops, env=env, on_loops=on_loops, cancel=cancel))

    scheduling.run_cancellable(one_pass, stop_wait)
    return done


class LoopDriver:
    """One worker thread that takes the loops' turns (`relayml.loops.tick`) apart from the
    passes, a project at a time, each turn's `LoopsOutcome` handed to `on_loops` (from the
    worker). The backend is the passes' own: a `LocalBackend`'s services are the ones the
    server shares between its request threads (a pooled connection per transaction), and an
    `HttpBackend`'s one httpx client is thread-safe."""

    def __init__(
        self,
        backend: Backend,
        *,
        executor: str = "local",
        env: dict[str, str] | None = None,
        on_loops: Callable[[LoopsOutcome], None] | None = None,
    ) -> None:
        self.backend, self.executor, self.env, self.on_loops = backend, executor, env, on_loops
        self.cancel = threading.Event()  # set by `close`: the pipeline under way is killed
        self._cond = threading.Condition()
        self._queue: deque[str] = deque()
        self._pending: set[str] = set()  # queued or being driven
        self._closing = False
        self._thread = threading.Thread(target=self._work, name="relay-loops", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def offer(self, project: str) -> bool:
        """Queue a turn of `project`'s loops; False when one is queued or under way already
        (it sees what this pass did), or the driver is closing."""
        with self._cond:
            if self._closing or project in self._pending:
                return False
            self._pending.add(project)
            self._queue.append(project)
            self._cond.notify()
            return True

    def close(self, timeout: float = STOP_WAIT) -> bool:
        """Cancel the pipeline under way, drop the queued turns, and wait up to `timeout`
        seconds for the worker; whether it ended."""
        self.cancel.set()
        with self._cond:
            self._closing = True
            self._queue.clear()
            self._cond.notify_all()
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if self._closing:
                    return
                project = self._queue.popleft()
            try:
                outcome = self._turn(project)
            finally:
                with self._cond:
                    self._pending.discard(project)
            if self.on_loops is not None:
                self.on_loops(outcome)

    def _turn(self, project: str) -> LoopsOutcome:
        from relayml.loops import tick as loops_tick

        try:
            turns = loops_tick(
                self.backend, project, executor=self.executor, env=self.env, cancel=self.cancel
            )
        except RelayError as exc:
            return LoopsOutcome(project, error=f"the loops did not run: {exc.message}")
        except Exception as exc:  # a bug must not end the worker: the next turn tries again
            traceback.print_exc(file=sys.stderr)
            return LoopsOutcome(project, error=f"the loops did not run: {exc!r}")
        return LoopsOutcome(project, tuple(turns))


def serve(
    backend: Backend,
    *,
    project: str | None = None,
    interval: float = 60.0,
    loops: bool = True,
    checks: bool = True,
    executor: str = "local",
    env: dict[str, str] | None = None,
    report: Callable[[Outcome], None] | None = None,
    on_loops: Callable[[LoopsOutcome], None] | None = None,
    stop: threading.Event | None = None,
    stop_wait: float = STOP_WAIT,
) -> None:
    """Tick every `interval` seconds until `stop` is set (or the process is interrupted), the
    loops driven by a `LoopDriver` meanwhile; when stopped, its pipeline under way is
    cancelled and the worker given `stop_wait` seconds to record that and end."""
    driver = LoopDriver(backend, executor=executor, env=env, on_loops=on_loops) if loops else None

    def once() -> None:
        done = tick(backend, project, loops=loops, checks=checks, executor=executor, env=env,
                    on_loops=on_loops, driver=driver)  # fmt: skip
        for outcome in done:
            if report is not None:
                report(outcome)

    if driver is not None:
        driver.start()
    try:
        scheduling.repeat(once, interval=interval, stop=stop)
    except RelayError as exc:  # pragma: no cover - repeat reports these itself
        sys.stderr.write(f"relay monitors run: {exc.message}\n")
    finally:
        if driver is not None and not driver.close(stop_wait):
            sys.stderr.write(
                f"relay monitors run: the loops' worker did not end within {stop_wait:g} s; "
                "its pipeline run may be left running (a loop abandons it after its "
                "pipeline_timeout)\n"
            )
