"""The model server's ASGI application.

The prediction routes (``predict.Predictions``) are plain ASGI handlers found by one dict
lookup on (method, path) and bound to their deployment when the server starts. Everything
else (health, readiness, metrics, v2 metadata, feedback: ``routes.Routes``) is a small
Starlette app behind them. This module holds them together: the deployments served, their
plans swapped in as the follower loads new versions, the prediction log, and the server's life.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import shutil
import sys
import time
import warnings
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.routing import Route

from relayml.serving.access import AccessLog
from relayml.serving.follower import Follower
from relayml.serving.metrics import Metrics
from relayml.serving.plans import LiveArm, Plan, Served
from relayml.serving.predict import Handler, Predictions, Receive, Scope, Send
from relayml.serving.predlog import PredictionLog, make_server_id
from relayml.serving.routes import Routes
from relayml.serving.shadow import Shadows

if TYPE_CHECKING:
    from pathlib import Path

    from relayml.client.base import Backend
    from relayml.domain.deployments import Resolution
    from relayml.serving.arms import Runner
    from relayml.serving.options import ServeOptions

log = logging.getLogger("relayml.serving")


class ModelServer(Predictions, Routes):
    """Every deployment this process serves, its prediction log and its metrics."""

    def __init__(
        self, options: ServeOptions, backend: Backend, spool: Path, *, owns_backend: bool = False
    ) -> None:
        self.options = options
        self.backend = backend
        self.spool = spool
        self._owns_backend = owns_backend
        # Numeric rows reach a scikit-learn model as an array in the order it was fitted in
        # (arms.Runner.predict_array); it would warn each time that the array has no names.
        warnings.filterwarnings(
            "ignore", message="X does not have valid feature names", category=UserWarning
        )
        self._preloaded: list[tuple[Served, Resolution, dict[str, Runner]]] | None = None
        self._closed = False
        self.served = {n: Served(n, options.project) for n in options.deployments}
        self.metrics = Metrics(self._live)
        self.server_id = make_server_id()
        self.predlog = PredictionLog(
            self._store_segment,
            spool,
            self.server_id,
            capacity=options.log_queue,
            segment_records=options.segment_records,
            segment_seconds=options.segment_seconds,
            sample=options.log_sample,
            on_written=lambda d, n: self.metrics.log_written.labels(d).inc(n),
            on_dropped=lambda d, n: self.metrics.log_dropped.labels(d).inc(n),
        )
        self.shadows = Shadows(
            self.predlog, self.metrics, capacity=options.log_queue, max_rows=options.max_batch
        )
        self.follower = Follower(
            backend,
            list(self.served.values()),
            poll_seconds=options.poll_seconds,
            metrics=self.metrics,
            install=self._install,
            array_input=True,
        )
        self.access = AccessLog(enabled=options.access_log)
        self._retiring: set[asyncio.Task[None]] = set()
        self._flusher: asyncio.Task[None] | None = None
        self.hot: dict[tuple[str, str], Handler] = {("GET", "/healthz"): self._healthz}
        for s in self.served.values():
            self.hot[("POST", f"/deployments/{s.name}/predict")] = self._predictor(s, v2=False)
            self.hot[("POST", f"/v2/models/{s.name}/infer")] = self._predictor(s, v2=True)
        single = options.single
        self.hot[("POST", "/predict")] = (
            self._predictor(self.served[single], v2=False) if single else self._not_single
        )
        self.app = Starlette(
            routes=[
                Route("/readyz", self._readyz),
                Route("/metrics", self._metrics),
                Route("/v2", self._v2_server),
                Route("/v2/health/live", self._v2_live),
                Route("/v2/health/ready", self._v2_ready),
                Route("/v2/models/{name}", self._v2_model),
                Route("/v2/models/{name}/ready", self._v2_model_ready),
                Route("/deployments", self._deployments),
                Route("/deployments/{name}", self._deployment),
                Route("/feedback", self._feedback, methods=["POST"]),
                Route("/deployments/{name}/feedback", self._feedback, methods=["POST"]),
            ],
            exception_handlers={404: self._not_found, 405: self._not_allowed},
            lifespan=self._lifespan,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            handler = self.hot.get((scope["method"], scope["path"]))
            if handler is not None:
                await handler(scope, receive, send)
                return
        await self.app(scope, receive, send)

    # --- life -------------------------------------------------------------------------------

    def preload(self) -> None:
        """Load every deployment now (before the server listens); raises what went wrong."""
        self._preloaded = self.follower.first_load()

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        loaded = self._preloaded
        if loaded is None:
            loaded = await asyncio.to_thread(self.follower.first_load)
        self._preloaded = None
        # The loop thread gets the GIL back within 1 ms of the log writer or a shadow holding
        # it (the default is 5 ms, a latency every answer would pay under load).
        sys.setswitchinterval(0.001)
        for s, res, runners in loaded:
            self._install(s, res, runners)
        self.follower.start(asyncio.get_running_loop())
        self._flusher = asyncio.create_task(self._flush_access())
        try:
            yield
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        """After the last request: stop following, answer what is queued, write the log."""
        await asyncio.to_thread(self.follower.stop)
        for s in self.served.values():
            if s.plan is not None:
                await s.plan.retire()
        if self._retiring:
            await asyncio.gather(*self._retiring)
        if self._flusher is not None:
            self._flusher.cancel()
        await asyncio.to_thread(self.close_now)

    def close_now(self) -> None:
        """Stop the threads, write the prediction log, close the backend (once)."""
        if self._closed:
            return
        self._closed = True
        self.follower.stop()
        self.shadows.close()
        self.predlog.close()
        left = self.predlog.unstored
        if left:
            log.error(
                "%d prediction-log rows could not be stored; their segments are kept in %s",
                left,
                self.spool,
            )
        else:
            shutil.rmtree(self.spool, ignore_errors=True)
        self.access.flush()
        self.metrics.close()
        if self._owns_backend:
            self.backend.close()

    async def _flush_access(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            self.access.flush()
            self.metrics.refresh()

    def _install(self, s: Served, res: Resolution, runners: dict[str, Runner]) -> None:
        """Swap in the plan for ``res`` (on the event loop's thread: one assignment); a
        resolution without arms takes the deployment out of service."""
        if not runners:
            old, s.plan = s.plan, None
            self.access.write({"event": "stopped", "ts": time.time(), "deployment": s.name,
                               "revision": res.revision, "problem": s.problem})  # fmt: skip
            if old is not None:
                self._retire(old)
            return
        arms = {
            a.role: LiveArm(s.name, a, runners[a.digest], s.arrivals, self.metrics, self.options)
            for a in res.arms
        }
        plan = Plan(res, arms)
        plan.start()
        old, s.plan, s.problem = s.plan, plan, None
        self.access.write(
            {
                "event": "serving",
                "ts": time.time(),
                "deployment": s.name,
                "revision": res.revision,
                "arms": [
                    {"arm": a.role.value, "ref": a.ref, "version": a.version, "digest": a.digest}
                    for a in res.arms
                ],
            }
        )
        # What is loaded now lives as long as the server: out of the cyclic collector's way, so
        # a full collection walks only what requests allocate (otherwise it walks every object
        # of pandas, scikit-learn and the models, a pause of tens of ms under load). Reference
        # counting still frees an old model once its plan retires.
        gc.collect()
        gc.freeze()
        if old is not None:
            self.metrics.swaps.labels(s.name).inc()
            self._retire(old)

    def _retire(self, plan: Plan) -> None:
        task = asyncio.get_running_loop().create_task(plan.retire())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    def _store_segment(
        self, project: str, deployment: str, path: Path, uri: str, records: int, first: Any,
        last: Any,
    ) -> None:  # fmt: skip
        self.backend.deployments.record_segment(
            project,
            deployment,
            path,
            uri=uri,
            records=records,
            first_at=first,
            last_at=last,
            server_id=self.server_id,
        )

    def _live(self) -> dict[str, Any]:
        return {
            "queues": {s.name: s.depth for s in self.served.values()},
            "log_queue": self.predlog.depth,
            "ready": self.ready,
            "arms": [row for s in self.served.values() if s.plan for row in s.plan.info],
        }


__all__ = ["ModelServer"]
