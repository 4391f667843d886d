"""`relay.loops`: the closed loop from Python, and the runner that drives it.

``attach``, ``detach``, ``get``, ``list``, ``start``, ``runs``, ``get_run``, ``stop`` act on
loops and their runs (docs/loops.md). ``tick`` is one turn of the runner (`relay loops run`;
the monitors' runner calls it too, after handing its alerts to the loops): Relay moves every
run as far as it can by itself (`backend.loops.advance`), then this process does the two
things that run where the caller runs: it runs the pipeline of each run waiting for one (the
pipeline's start claims the run, so two runners never both run it), and it compares each
canary with the primary from the prediction log and the feedback (`relay deployments
compare`) and hands that to `backend.loops.decide`.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from relayml.domain.loops import CanaryEvidence, Loop, LoopRun, LoopState
from relayml.errors import Conflict, RelayError
from relayml.scheduling import run_cancellable
from relayml.sdk.loops import attach_loop as attach
from relayml.sdk.loops import detach_loop as detach
from relayml.sdk.loops import get_loop as get
from relayml.sdk.loops import get_loop_run as get_run
from relayml.sdk.loops import list_loops as list
from relayml.sdk.loops import loop_runs as runs
from relayml.sdk.loops import start_loop as start
from relayml.sdk.loops import stop_loop_run as stop

if TYPE_CHECKING:
    from relayml.client.base import Backend

__all__ = [
    "Turn",
    "attach",
    "canary_evidence",
    "detach",
    "get",
    "get_run",
    "list",
    "runs",
    "serve",
    "start",
    "stop",
    "tick",
]


@dataclass(frozen=True)
class Turn:
    """What one tick did for one run: the run as it is now, and one line saying what."""

    run: LoopRun
    did: str


def canary_evidence(backend: Backend, loop: Loop, run: LoopRun) -> CanaryEvidence | None:
    """The canary's realised performance against the primary's since the canary started, from
    the deployment's prediction log and feedback; None while either arm has no feedback."""
    from relayml.compare import compare

    found = compare(backend, run.project, loop.spec.deployment, since=run.canary_since)
    version = int((run.candidate or "@0").rsplit("@", 1)[1])
    canary = next((a for a in found.arms if a.arm == "canary" and a.version == version), None)
    primary = [a for a in found.arms if a.arm == "primary" and a.realised]
    if canary is None or not canary.realised or "pvalue" not in canary.realised or not primary:
        return None
    r = canary.realised
    return CanaryEvidence(
        metric=str(r["metric"]),
        canary_n=int(r["n"]),
        canary_value=float(r["value"]),
        primary_n=sum(int((a.realised or {}).get("n", 0)) for a in primary),
        primary_value=float(r["primary_value"]),
        test=str(r["test"]),
        pvalue=float(r["pvalue"]),
    )


def tick(
    backend: Backend,
    project: str,
    *,
    executor: str = "local",
    env: dict[str, str] | None = None,
    on_turn: Callable[[Turn], None] | None = None,
    cancel: threading.Event | None = None,
) -> builtins.list[Turn]:
    """One turn of the runner over `project`'s loop runs (see the module's docstring). Setting
    `cancel` (from another thread) kills the pipeline under way (its run ends `killed`, and
    the loop run waits for the next runner to start it again) and starts no other."""
    from relayml.pipelines.runner import run_pipeline

    turns: builtins.list[Turn] = []

    def said(run: LoopRun, did: str) -> None:
        turns.append(Turn(run, did))
        if on_turn is not None:
            on_turn(turns[-1])

    for run in backend.loops.advance(project):
        if cancel is not None and cancel.is_set():
            break
        try:
            loop = backend.loops.get(project, run.loop)
            if run.state is LoopState.TRIGGERED:
                info = backend.pipelines.get_pipeline(project, loop.spec.pipeline)
                try:
                    prun = run_pipeline(
                        backend, info.module, project=project, params=loop.spec.params,
                        executor=executor, trigger="loop", loop_run=run.id, env=env,
                        cancel=cancel,
                    )  # fmt: skip
                except Conflict as exc:  # another runner started it first
                    said(run, f"not started here: {exc.message}")
                    continue
                said(run, f"pipeline {info.name} run {prun.id} {prun.status.value}")
            elif run.state is LoopState.CANARY:
                evidence = canary_evidence(backend, loop, run)
                after = backend.loops.decide(run.id, evidence)
                if after.state is LoopState.CANARY:
                    n = f"{evidence.canary_n} / {evidence.primary_n}" if evidence else "0 / 0"
                    said(after, f"canary: {n} rows with feedback (canary / primary); waiting")
                else:
                    said(after, after.steps[-1].text)
        except RelayError as exc:  # one run's trouble does not stop the others
            said(run, f"error: {exc.message}")
    for run in backend.loops.advance(project):  # carry on from what the pipelines gave
        said(run, f"{run.state.value}: {run.steps[-1].text}")
    return turns


STOP_WAIT = 30.0
"""How long an interrupted runner waits for its pipeline under way to record that it was
cancelled (its steps killed, its run `killed`)."""


def serve(
    backend: Backend,
    project: str,
    *,
    interval: float = 30.0,
    executor: str = "local",
    env: dict[str, str] | None = None,
    on_turn: Callable[[Turn], None] | None = None,
    stop_after: int | None = None,
    stop_wait: float = STOP_WAIT,
) -> None:
    """`tick` every `interval` seconds until interrupted (or `stop_after` ticks). The ticks run
    in a worker thread: when this one is interrupted (Ctrl-C; SIGTERM where it raises
    SystemExit, as in the `relay` command), the pipeline under way is cancelled as `tick`'s
    `cancel` does (its steps killed, its run recorded `killed`, the loop run left waiting for
    the next runner) within `stop_wait` seconds, and the interruption goes on."""

    def ticks(cancel: threading.Event) -> None:
        done = 0
        while stop_after is None or done < stop_after:
            tick(backend, project, executor=executor, env=env, on_turn=on_turn, cancel=cancel)
            done += 1
            if cancel.is_set() or (
                (stop_after is None or done < stop_after) and cancel.wait(interval)
            ):
                return

    run_cancellable(ticks, stop_wait)
