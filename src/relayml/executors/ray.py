"""The Ray executor: each attempt is a Ray task running the same worker code as `local`.

Uses the cluster at $RAY_ADDRESS, a Ray already initialised in this process, or starts a local
one (and stops it on close). A timed-out attempt is cancelled with force, which kills the Ray
worker process running it. Inputs and outputs are passed as file paths, so the Ray workers
must see the driver's files: a local Ray, or a cluster with the Relay work folder on a shared
filesystem.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

from relayml.errors import InvalidInput, ServerUnavailable
from relayml.executors.base import Attempt, Result, Task, default_workers
from relayml.executors.entry import call


def run_attempt(task: Task) -> Result:
    """Runs inside a Ray worker: the attempt's stdout/stderr go to its log file for its
    duration, its environment variables are set, then everything is put back."""
    saved_env = {k: os.environ.get(k) for k in task.env}
    os.environ.update(task.env)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    log = os.open(task.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(log, 1)
        os.dup2(log, 2)
        try:
            return call(task)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
    finally:
        for fd in (*saved, log):
            os.close(fd)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_KILL_WAIT = 10.0  # seconds to wait for a force-cancelled task's worker to go


class RayAttempt:
    def __init__(self, ray: Any, ref: Any) -> None:
        self.ray = ray
        self.ref = ref

    def poll(self) -> Result | None:
        ready, _ = self.ray.wait([self.ref], timeout=0)
        if not ready:
            return None
        try:
            result: Result = self.ray.get(self.ref)
            return result
        except Exception as exc:  # the worker died or the task was cancelled
            return Result.failure(f"the Ray task of this step failed: {type(exc).__name__}: {exc}")

    def kill(self) -> None:
        with contextlib.suppress(Exception):  # it may have finished meanwhile
            self.ray.cancel(self.ref, force=True)
            # Cancelling is a request to the raylet: wait for the worker to be gone, or a
            # shutdown that follows (SIGTERM, Ctrl-C) would stop the raylet first and leave
            # the worker running its step with nobody to stop it.
            self.ray.wait([self.ref], timeout=_KILL_WAIT)


def import_ray(what: str) -> Any:
    """The ray module, or InvalidInput saying how to install it (`what` needs it)."""
    try:
        import ray
    except ImportError:
        raise InvalidInput(
            f"{what} needs Ray; install it with: pip install 'relayml[ray]'"
        ) from None
    return ray


def start_ray(ray: Any, max_workers: int | None = None) -> bool:
    """Make Ray ready in this process: the cluster at $RAY_ADDRESS, a Ray already initialised
    here, or a new local one with `max_workers` CPUs (default: up to 2). True when this call
    started it, so the caller shuts it down."""
    if ray.is_initialized():
        return False
    address = os.environ.get("RAY_ADDRESS") or None
    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(
                num_cpus=max_workers or min(2, default_workers()),
                include_dashboard=False,
                log_to_driver=False,
            )
    except Exception as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise ServerUnavailable(
            f"could not start or reach {where}: {type(exc).__name__}: {exc}; "
            "check RAY_ADDRESS or run with --executor local"
        ) from None
    return True


class RayExecutor:
    name = "ray"

    def __init__(self, max_workers: int | None = None) -> None:
        ray = import_ray("the ray executor")
        self.ray = ray
        self.started = start_ray(ray, max_workers)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.max_workers = max_workers or max(1, cpus)
        self._remote = ray.remote(num_cpus=1, max_retries=0)(run_attempt)

    def submit(self, task: Task) -> Attempt:
        return RayAttempt(self.ray, self._remote.remote(task))

    def wait(self, attempts: list[Attempt], timeout: float) -> None:
        refs = [a.ref for a in attempts if isinstance(a, RayAttempt)]
        if refs:
            self.ray.wait(refs, num_returns=1, timeout=max(0.0, timeout))

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()
            self.started = False
