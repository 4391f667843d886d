"""Buffered metric logging: the training loop appends, a background thread writes batches.

The thread writes every `interval` seconds, and sooner when a run's buffer passes `max_batch`.
When it falls behind (the oldest unwritten point is older than `max_lag` seconds, or
`max_buffer` points wait), the logging call writes the buffer itself and so waits: nothing is
ever dropped, and a hard kill (kill -9, power loss) loses at most the points of about the last
`max_lag` seconds of logging. A write sends at most `chunk` points per request. `flush_all` runs
at run end, at interpreter exit and on SIGTERM, so nothing logged is lost when a run ends
normally or is terminated.

The same thread keeps open runs alive: every write to a run is its heartbeat, and a run that
has written nothing for its heartbeat interval (RELAY_HEARTBEAT_INTERVAL, default
`HEARTBEAT_INTERVAL` seconds) sends an empty batch, so no extra request is made while points
flow. A run whose process died stops heartbeating and reads as `lost` once it has been
silent for the services' RELAY_RUN_LOST_AFTER.
"""

from __future__ import annotations

import atexit
import contextlib
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from relayml.sdk.run import ActiveRun


HEARTBEAT_INTERVAL = 30.0
"""Seconds between an idle open run's heartbeats; keep it well under RELAY_RUN_LOST_AFTER."""


class Flusher:
    def __init__(
        self,
        interval: float = 0.5,
        max_batch: int = 5000,
        max_lag: float = 1.0,
        max_buffer: int = 100_000,
        chunk: int = 50_000,
    ) -> None:
        self.interval = interval
        self.max_batch = max_batch
        self.max_lag = max_lag
        self.max_buffer = max_buffer
        self.chunk = chunk
        self._runs: dict[str, ActiveRun] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._hooks_installed = False
        self._crashed = False

    def register(self, run: ActiveRun) -> None:
        with self._lock:
            self._runs[run.id] = run
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="relay-flusher", daemon=True
                )
                self._thread.start()
        self._install_hooks()

    def unregister(self, run: ActiveRun) -> None:
        with self._lock:
            self._runs.pop(run.id, None)

    def nudge(self) -> None:
        self._wake.set()

    def active(self) -> list[ActiveRun]:
        with self._lock:
            return list(self._runs.values())

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            for run in self.active():
                # Errors stay with the run and surface on its next flush()/end(); a heartbeat
                # that fails is sent again at the next turn.
                with contextlib.suppress(Exception):
                    run._flush_pending()
                with contextlib.suppress(Exception):
                    run._heartbeat_if_due()

    def flush_all(self) -> None:
        for run in self.active():
            with contextlib.suppress(Exception):
                run._flush_pending()

    def _install_hooks(self) -> None:
        if self._hooks_installed:
            return
        self._hooks_installed = True
        atexit.register(self._at_exit)
        previous_hook = sys.excepthook

        def on_uncaught(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
            self._crashed = True  # runs still open at exit end as failed, not finished
            previous_hook(kind, exc, tb)

        sys.excepthook = on_uncaught
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGTERM)

            def on_sigterm(signum: int, frame: FrameType | None) -> None:
                self.flush_all()
                for run in self.active():
                    with contextlib.suppress(Exception):
                        run.end("killed")
                if callable(previous):
                    previous(signum, frame)
                sys.exit(128 + signum)

            signal.signal(signal.SIGTERM, on_sigterm)

    def _at_exit(self) -> None:
        for run in self.active():
            with contextlib.suppress(Exception):
                run._flush_pending()
            with contextlib.suppress(Exception):
                run.end("failed" if self._crashed else "finished")


flusher = Flusher()
