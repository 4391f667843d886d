"""Following the registry: a background thread asks what each deployment serves now (every
``poll_seconds``, one cheap ``backend.deployments.resolve`` per deployment) and, when an alias
moved or the traffic rules changed, loads the new versions (digest verified, warmed up) off
the request path, then hands the finished arms to the event loop, which swaps the plan in one
assignment. Until then the old plan answers; a version that fails to load leaves the old one
serving and is tried again at the next poll.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from relayml.domain.deployments import ArmRole, Resolution
from relayml.errors import RelayError
from relayml.serving.arms import Runner, load_runner
from relayml.serving.plans import Served, plan_key

if TYPE_CHECKING:
    from relayml.client.base import Backend
    from relayml.serving.metrics import Metrics

log = logging.getLogger("relayml.serving")

Install = Callable[[Served, Resolution, dict[str, Runner]], None]
"""(deployment, its resolution, a loaded runner per digest its arms name)"""


class Follower:
    def __init__(
        self,
        backend: Backend,
        served: list[Served],
        *,
        poll_seconds: float,
        metrics: Metrics,
        install: Install,
        array_input: bool = False,
    ) -> None:
        self.array_input = array_input
        self.backend = backend
        self.served = served
        self.poll_seconds = poll_seconds
        self.metrics = metrics
        self._install = install
        self._runners: dict[tuple[str, str | None], Runner] = {}
        self._keys: dict[str, tuple[object, ...]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one check at a time (the first load, then the poller)

    def first_load(self) -> list[tuple[Served, Resolution, dict[str, Runner]]]:
        """Every deployment resolved and loaded, before the server takes requests; raises the
        first failure (a deployment that does not exist, a model that does not verify)."""
        loaded = []
        for s in self.served:
            found = self._check(s, strict=True)
            if found is not None:
                loaded.append((s, *found))
        return loaded

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        def install(s: Served, res: Resolution, runners: dict[str, Runner]) -> None:
            loop.call_soon_threadsafe(self._install, s, res, runners)

        self._on_loop = install
        self._thread = threading.Thread(target=self._run, name="relay-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            for s in self.served:
                if self._stop.is_set():
                    return
                try:
                    found = self._check(s, strict=False)
                except Exception:  # never let the follower die
                    log.exception("checking deployment %s failed", s.name)
                    continue
                if found is not None:
                    self._on_loop(s, *found)

    def _check(self, s: Served, *, strict: bool) -> tuple[Resolution, dict[str, Runner]] | None:
        """The new runners when the deployment's resolution changed, else None."""
        with self._lock:
            try:
                res = self.backend.deployments.resolve(s.project, s.name)
            except RelayError as exc:
                if strict:
                    raise
                log.warning("cannot resolve deployment %s: %s (serving as before)", s.name, exc)
                return None
            key = plan_key(res)
            if self._keys.get(s.name) == key:
                return None
            if not res.arms or res.arm(ArmRole.PRIMARY) is None:
                # archived, or its alias points nowhere: stop answering for it (503) until it
                # resolves to a version again
                s.problem = (
                    f"deployment {s.name} serves nothing now (it was archived, or its target "
                    "resolves to no version); see relay deployments show "
                    f"{s.name} -p {s.project}"
                )
                log.warning("%s", s.problem)
                self._keys[s.name] = key
                return None if strict else (res, {})
            runners: dict[str, Runner] = {}
            try:
                for arm in res.arms:
                    runner = self._runners.get((arm.digest, res.sticky_key))
                    if runner is None:
                        runner = load_runner(
                            self.backend,
                            s.project,
                            arm,
                            unsafe_pickle=res.unsafe_pickle,
                            sticky_key=res.sticky_key,
                            array_input=self.array_input,
                        )
                    runners[arm.digest] = runner
            except Exception as exc:
                self.metrics.load_failures.labels(s.name).inc()
                s.problem = f"loading {s.name}'s new versions failed: {exc}"
                if strict:
                    raise
                log.error("%s (the previous versions go on serving; retrying)", s.problem)
                return None
            self._keys[s.name] = key
            keep = self._digests(s.name)
            self._runners = {k: r for k, r in self._runners.items() if k[0] in keep}
            for digest, r in runners.items():
                self._runners[(digest, res.sticky_key)] = r
            return res, runners

    def _digests(self, exclude: str) -> set[str]:
        """Digests other deployments serve now (their runners stay cached)."""
        out: set[str] = set()
        for s in self.served:
            if s.name != exclude and s.plan is not None:
                out |= {a.digest for a in s.plan.arms.values()}
        return out
