"""The scheduler loop shared by every kind of schedule."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from relayml.domain.scheduling import Schedule, due_slot
from relayml.errors import Conflict, RelayError


class Source(Protocol):
    """The schedules of one kind, and how to start one of them for a slot."""

    def schedules(self) -> Iterable[Schedule]: ...

    def start(self, schedule: Schedule, slot: datetime) -> Any:
        """Claim `slot` and do the work; raise `Conflict` if another scheduler claimed it."""
        ...


@dataclass
class Outcome:
    schedule: Schedule
    slot: datetime
    result: Any = None
    error: str | None = None  # the RelayError that kept it from starting


def tick(sources: Iterable[Source], *, now: datetime | None = None) -> list[Outcome]:
    """Start every due schedule once, one after the other; return what was started."""
    moment = now or datetime.now(UTC)
    outcomes: list[Outcome] = []
    for source in sources:
        for schedule in source.schedules():
            slot = due_slot(schedule, moment)
            if slot is None:
                continue
            outcome = Outcome(schedule, slot)
            try:
                outcome.result = source.start(schedule, slot)
            except Conflict:
                continue  # another scheduler started this slot
            except RelayError as exc:
                outcome.error = exc.message
            outcomes.append(outcome)
    return outcomes


def serve(
    sources: Sequence[Source],
    *,
    interval: float = 30.0,
    report: Callable[[Outcome], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Tick every `interval` seconds until `stop` is set (or the process is interrupted)."""

    def once() -> None:
        for outcome in tick(sources):
            if report is not None:
                report(outcome)

    repeat(once, interval=interval, stop=stop)


def repeat(
    work: Callable[[], None], *, interval: float = 30.0, stop: threading.Event | None = None
) -> None:
    """Call `work` every `interval` seconds until `stop` is set; a RelayError it raises (the
    server briefly unreachable) is reported and the next round tries again."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            work()
        except RelayError as exc:
            sys.stderr.write(f"relay scheduler: {exc.message}\n")
        stop.wait(interval)


def run_cancellable(work: Callable[[threading.Event], None], stop_wait: float) -> None:
    """`work(cancel)` in a worker thread, this one waiting: how a runner stops work that must
    record its own end (a pipeline under way kills its steps and records itself `killed` when
    `cancel` is set). Interrupted (Ctrl-C; SIGTERM where it raises SystemExit), it sets `cancel`,
    gives the worker `stop_wait` seconds to end, and re-raises. The wait is on an event, not
    `Thread.join`: a join interrupted by a signal's exception marks the thread ended while it
    still runs (CPython 3.11), so a second join would not wait."""
    cancel, ended = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            work(cancel)
        except BaseException as exc:  # handed to the waiting thread, which raises it
            failed.append(exc)
        finally:
            ended.set()

    threading.Thread(target=run, name="relay-cancellable", daemon=True).start()
    try:
        while not ended.wait(0.2):  # short waits: a signal is handled between them
            pass
    except BaseException:
        cancel.set()
        ended.wait(stop_wait)
        raise
    if failed:
        raise failed[0]
