"""Shadow traffic: every answered request mirrored to the deployment's shadow version, off the
request path. The request is answered first; then its body goes into a bounded queue (full:
dropped and counted) that a worker thread drains in batches, parsing each body against the
shadow's own signature and running the shadow once per batch. Its answers go to the prediction
log under arm ``shadow`` with the prediction ids the caller received, so they join the
primary's rows (and any feedback) exactly; they are never returned.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from relayml.errors import RelayError
from relayml.serving.arms import Answer
from relayml.serving.inputs import CSV_TYPES, Parsed
from relayml.serving.predlog import Entry, PredictionLog

if TYPE_CHECKING:
    from relayml.serving.metrics import Metrics
    from relayml.serving.plans import LiveArm

log = logging.getLogger("relayml.serving")


@dataclass(slots=True)
class Mirror:
    arm: LiveArm  # the shadow arm of the plan that answered
    project: str
    kind: str  # "json", "v2", "csv" or "arrow"
    body: Any  # the decoded JSON document, or the raw bytes
    request_id: str
    ids: list[str]


class Shadows:
    def __init__(
        self, predlog: PredictionLog, metrics: Metrics, *, capacity: int, max_rows: int
    ) -> None:
        self._log = predlog
        self._metrics = metrics
        self.capacity = capacity
        self.max_rows = max_rows
        self._queue: deque[Mirror] = deque()
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="relay-shadow", daemon=True)
        self._thread.start()

    def offer(self, mirror: Mirror) -> None:
        if len(self._queue) >= self.capacity or self._stop:
            self._metrics.shadow_dropped.labels(mirror.arm.deployment).inc()
            return
        self._queue.append(mirror)
        self._wake.set()

    def close(self, timeout: float = 60.0) -> None:
        """Answer what is queued, then stop (before the prediction log closes)."""
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait(0.5)
            self._wake.clear()
            while self._queue:
                batch = [self._queue.popleft()]
                while self._queue and len(batch) < self.max_rows:
                    batch.append(self._queue.popleft())
                try:
                    self._answer(batch)
                except Exception:
                    log.exception("shadow batch failed")
            if self._stop and not self._queue:
                return

    def _answer(self, batch: list[Mirror]) -> None:
        by_arm: dict[int, list[tuple[Mirror, Parsed]]] = {}
        for m in batch:
            try:
                parsed = _parse(m)
                if parsed.size != len(m.ids):
                    raise ValueError("the shadow read another number of rows")
            except (RelayError, ValueError):
                self._metrics.shadow_errors.labels(m.arm.deployment).inc()
                continue
            by_arm.setdefault(id(m.arm), []).append((m, parsed))
        for group in by_arm.values():
            arm = group[0][0].arm
            start = time.perf_counter()
            done: list[tuple[Mirror, Parsed, Answer]] = []
            try:
                answers = arm.runner.run([p for _, p in group])
                done = [(m, p, a) for (m, p), a in zip(group, answers, strict=True)]
            except Exception:
                for m, p in group:  # one by one: a request the shadow refuses is counted
                    try:
                        (a,) = arm.runner.run([p])
                    except Exception:
                        self._metrics.shadow_errors.labels(arm.deployment).inc()
                    else:
                        done.append((m, p, a))
            took = (time.perf_counter() - start) * 1000.0
            now = time.time()
            runner = arm.runner
            for m, p, a in done:
                self._log.offer(
                    Entry(
                        deployment=arm.deployment,
                        project=m.project,
                        model=arm.model,
                        version=arm.version,
                        digest=arm.digest,
                        arm=arm.role,
                        request_id=m.request_id,
                        ts=now,
                        latency_ms=took,
                        ids=m.ids,
                        schema=runner.schema,
                        inputs=p,
                        predictions=a.predictions,
                        probabilities=a.probabilities,
                        classes=runner.classes,
                    )
                )


def _parse(m: Mirror) -> Parsed:
    schema = m.arm.runner.schema
    if m.kind == "json":
        return schema.parse(m.body)
    if m.kind == "v2":
        return schema.parse_v2(m.body)
    if m.kind in CSV_TYPES or m.kind == "csv":
        return schema.parse_csv(m.body)
    return schema.parse_arrow(m.body)
