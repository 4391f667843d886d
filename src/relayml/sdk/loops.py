"""Loops from Python: attach one, start, watch and stop its runs (`relay.loops`).

relay.loops.attach("retrain-churn", pipeline="retrain", deployment="churn-api",
                   on=["data_drift"], evaluate_on="holdout", target="churned")
run = relay.loops.start("retrain-churn", reason="drift on tenure")
relay.loops.tick()                   # what `relay loops run` does every interval
relay.loops.get_run(run.id).steps    # every step, who did it, when
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from relayml.client.base import Backend
from relayml.domain.loops import Loop, LoopRun, LoopSpec
from relayml.domain.monitors import alert_families
from relayml.sdk import session as _session


def _backend_project(project: str | None) -> tuple[Backend, str]:
    s = _session.current()
    return s.backend, project or s.project


def attach_loop(
    name: str,
    *,
    pipeline: str,
    deployment: str,
    on: Sequence[str] = (),
    candidate_step: str = "register",
    params: dict[str, Any] | None = None,
    evaluate_on: str | None = None,
    target: str | None = None,
    canary_percent: float = 10.0,
    min_feedback: int = 100,
    canary_timeout: float | str = "7d",
    pipeline_timeout: float | str = "6h",
    alpha: float = 0.05,
    project: str | None = None,
) -> Loop:
    """Attach a loop to the project: on an alert of a kind in `on` (or by hand, `start`), run
    `pipeline`, take the model ref its step `candidate_step` returns as the candidate, open a
    held promotion request for the alias `deployment` follows (evaluated on `evaluate_on`'s
    newest usable version), and once approved run it as a canary (docs/loops.md)."""
    backend, project = _backend_project(project)
    spec = LoopSpec(
        pipeline=pipeline,
        deployment=deployment,
        on=alert_families(list(on)),
        candidate_step=candidate_step,
        params=dict(params or {}),
        evaluate_on=evaluate_on,
        target=target,
        canary_percent=canary_percent,
        min_feedback=min_feedback,
        canary_timeout=canary_timeout,
        pipeline_timeout=pipeline_timeout,
        alpha=alpha,
    )
    loop: Loop = backend.loops.attach(project, name, spec)
    return loop


def detach_loop(name: str, reason: str, *, project: str | None = None) -> Loop:
    backend, project = _backend_project(project)
    loop: Loop = backend.loops.detach(project, name, reason)
    return loop


def get_loop(name: str, *, project: str | None = None) -> Loop:
    backend, project = _backend_project(project)
    loop: Loop = backend.loops.get(project, name)
    return loop


def list_loops(*, project: str | None = None) -> list[Loop]:
    backend, project = _backend_project(project)
    loops: list[Loop] = backend.loops.list_loops(project)
    return loops


def start_loop(name: str, reason: str, *, project: str | None = None) -> LoopRun:
    """Start a run by hand; a runner (`relay loops run`, `relay.loops.tick()`) drives it."""
    backend, project = _backend_project(project)
    run: LoopRun = backend.loops.start(project, name, reason)
    return run


def loop_runs(
    loop: str | None = None, *, limit: int = 100, project: str | None = None
) -> list[LoopRun]:
    backend, project = _backend_project(project)
    runs: list[LoopRun] = backend.loops.list_runs(project, loop, limit)
    return runs


def get_loop_run(run_id: str) -> LoopRun:
    run: LoopRun = _session.current().backend.loops.get_run(run_id)
    return run


def stop_loop_run(run_id: str, reason: str) -> LoopRun:
    """Stop a run; its canary leaves the deployment and its request is withdrawn, at once."""
    run: LoopRun = _session.current().backend.loops.stop(run_id, reason)
    return run
