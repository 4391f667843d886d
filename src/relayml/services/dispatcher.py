"""The webhook dispatcher: background threads that send due deliveries in this process.

`relay server` runs one for the app's lifetime (started and stopped by its lifespan); the CLI's
long-running loops (`relay scheduler`, `relay monitors run`, `relay loops run`) run one beside
them on the embedded store. Each worker claims one attempt at a time (a lease in the database,
`NotificationService.attempt`), so several processes, or several servers on one PostgreSQL,
share the work and never make one attempt twice. When nothing is due a worker sleeps until the
earliest pending attempt is due, at most `poll` seconds, or until a service raising an event
wakes it (`NotificationService.wake`). `stop` lets an attempt under way finish (within the
attempt's timeout) and record itself; one cut short by a kill keeps its lease until it runs
out, and then any dispatcher makes the next attempt. On start it seals with the current key
any signing secret kept in clear or under an older key (`NotificationService.reseal`).
"""

from __future__ import annotations

import logging
import threading

from relayml.services.notifications import NotificationService, sender_id

log = logging.getLogger(__name__)

WORKERS = 2
POLL = 5.0  # seconds between looks at the database when nothing wakes a worker


class Dispatcher:
    def __init__(
        self, notifications: NotificationService, *, workers: int = WORKERS, poll: float = POLL
    ) -> None:
        self.notifications = notifications
        self.workers = max(1, workers)
        self.poll = poll
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._generation = 0
        self._threads: list[threading.Thread] = []

    def start(self) -> Dispatcher:
        try:  # secrets kept in clear by an older Relay, or under a rotated-out key
            resealed, unopened = self.notifications.reseal()
        except Exception:
            log.exception("webhook dispatcher: could not reseal webhook secrets")
        else:
            if resealed:
                log.info("webhook dispatcher: sealed %d secrets with the current key", resealed)
            for message in unopened:
                log.error("webhook dispatcher: %s", message)
        self._stop.clear()
        self.notifications.wake = self.wake
        for n in range(self.workers):
            thread = threading.Thread(target=self._run, name=f"relay-webhooks-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def wake(self) -> None:
        """A delivery was recorded: look now rather than at the next poll."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def stop(self, timeout: float | None = None) -> None:
        """Stop taking attempts; wait for those under way (at most `timeout` seconds, default
        the attempt timeout and a margin)."""
        if self.notifications.wake == self.wake:
            self.notifications.wake = None
        self._stop.set()
        self.wake()
        limit = self.notifications.timeout + 5.0 if timeout is None else timeout
        for thread in self._threads:
            thread.join(limit)
        self._threads = []

    def __enter__(self) -> Dispatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        owner = sender_id()
        seen = -1
        while not self._stop.is_set():
            with self._cond:
                seen = self._generation
            try:
                made = self.notifications.deliver_due(owner, stop=self._stop.is_set)
                wait = 0.0 if made else self.notifications.next_due()
            except Exception:  # the database away for a moment: log it and look again later
                log.exception("webhook dispatcher: could not deliver")
                wait = self.poll
            wait = self.poll if wait is None else min(wait, self.poll)
            if wait <= 0:
                continue
            with self._cond:
                if self._generation == seen and not self._stop.is_set():
                    self._cond.wait(wait)
