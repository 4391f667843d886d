"""What a deployment serves right now, as one immutable `Plan` swapped whole.

A `Plan` is a resolution with every arm loaded, warmed up and given its batcher. Requests read
``served.plan`` once and keep that plan to the end, so a swap (an assignment on the event
loop's thread) never splits a request between two versions, and the old arms finish what they
queued before they stop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from relayml.domain.deployments import ArmRole, Resolution, ServedArm, choose_arm
from relayml.serving.arms import Answer, Runner
from relayml.serving.batcher import Arrivals, Batcher
from relayml.serving.inputs import Parsed

if TYPE_CHECKING:
    from relayml.serving.metrics import Metrics


def plan_key(resolution: Resolution) -> tuple[Any, ...]:
    """What must change for a new plan: the arms' exact versions and shares, the sticky key."""
    return (
        tuple((a.role, a.model, a.version, a.digest, a.weight) for a in resolution.arms),
        resolution.sticky_key,
    )


class LiveArm:
    """A runner with its batcher, its response headers and its metric series, bound once."""

    def __init__(
        self,
        name: str,
        served: ServedArm,
        runner: Runner,
        arrivals: Arrivals,
        metrics: Metrics,
        options: Any,
    ) -> None:
        self.runner = runner
        self.served = served
        self.role = served.role.value
        self.deployment = name
        self.version = served.version
        self.model = served.model
        self.digest = served.digest
        version = str(served.version)
        self.headers = [
            (b"content-type", b"application/json"),
            (b"relay-deployment", name.encode()),
            (b"relay-model", served.model.encode()),
            (b"relay-model-version", version.encode()),
            (b"relay-model-digest", served.digest.encode()),
            (b"relay-arm", self.role.encode()),
        ]
        self.ok = metrics.requests.labels(name, version, self.role, "200")
        self.latency = metrics.latency.labels(name, version, self.role)
        self._predict_time = metrics.predict.labels(name, version, self.role)
        self._batch_rows = metrics.batch_rows.labels(name, self.role)
        self.batcher: Batcher[Parsed, Answer] = Batcher(
            self._run,
            _size,
            max_rows=options.max_batch,
            max_wait=options.max_wait_ms / 1000.0,
            arrivals=arrivals,
            on_batch=self._batch_rows.observe,
        )

    def _run(self, items: list[Parsed]) -> list[Answer]:
        start = time.perf_counter()
        try:
            return self.runner.run(items)
        finally:
            self._predict_time.observe(time.perf_counter() - start)


def _size(item: Parsed) -> int:
    return item.size


class Plan:
    """A deployment's arms as served now: the live ones (primary, canary) and the shadow."""

    def __init__(self, resolution: Resolution, arms: dict[ArmRole, LiveArm]) -> None:
        self.resolution = resolution
        self.key = plan_key(resolution)
        self.arms = arms
        self.primary = arms[ArmRole.PRIMARY]
        self.shadow = arms.get(ArmRole.SHADOW)
        self.weights = resolution.weights
        self.split = len(self.weights) > 1
        self.sticky_key = resolution.sticky_key
        self.sticky_header = (
            resolution.sticky_key.lower().encode("latin-1") if resolution.sticky_key else None
        )
        self._salt = resolution.deployment

    def choose(self, key: str | None) -> LiveArm:
        """The arm that answers a request (its sticky key's value, or None for a random draw)."""
        if not self.split:
            return self.primary
        return self.arms[choose_arm(self.weights, key, salt=self._salt)]

    def start(self) -> None:
        for arm in self.arms.values():
            arm.batcher.start()

    async def retire(self) -> None:
        """Answer what the old arms queued, then stop them."""
        for arm in self.arms.values():
            await arm.batcher.close()

    @property
    def info(self) -> list[list[str]]:
        return [
            [a.deployment, a.role, a.model, str(a.version), a.digest, a.served.ref]
            for a in self.arms.values()
        ]


class Served:
    """One deployment on this server: its current plan, swapped whole when the registry moves."""

    def __init__(self, name: str, project: str) -> None:
        self.name = name
        self.project = project
        self.plan: Plan | None = None
        self.arrivals = Arrivals()
        self.problem: str | None = "not loaded yet"
        self.on_swap: list[Callable[[Plan], None]] = []

    @property
    def ready(self) -> bool:
        return self.plan is not None

    @property
    def depth(self) -> int:
        plan = self.plan
        return 0 if plan is None else sum(a.batcher.depth for a in plan.arms.values())
