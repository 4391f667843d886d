"""Pipelines from the SDK: `relay.pipelines.run(nightly)`, its runs, their outputs and logs.

import relayml as relay

@relay.step(retries=2, timeout="10m")
def clean(rows: list[int]) -> list[int]: ...

@relay.pipeline(schedule="0 3 * * *")
def nightly(n: int = 10):
    return clean(load(n))

run = relay.pipelines.run("etl.py:nightly", params={"n": 100})
"""

from __future__ import annotations

import builtins
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relayml.pipelines.dag import Pipeline, Step, pipeline, step
from relayml.scratch import scratch_dir

if TYPE_CHECKING:
    from datetime import date, datetime

    from relayml.client.base import Backend
    from relayml.config import Settings
    from relayml.domain.pipelines import PipelineInfo, PipelineRun
    from relayml.pipelines.backfills import Backfill

__all__ = [
    "Pipeline",
    "Step",
    "backfill",
    "get",
    "get_run",
    "list",
    "logs",
    "output",
    "pause",
    "pipeline",
    "register",
    "resume",
    "run",
    "runs",
    "step",
    "worker_env",
]


def worker_env(
    settings: Settings, server: str | None = None, token: str | None = None
) -> dict[str, str]:
    """The environment a step's process needs to reach the same Relay as its caller, so SDK
    calls inside a step (relay.datasets.publish) land in the same place."""
    env = {"RELAY_USER": settings.user}
    server = server or settings.server_url
    token = token or settings.token
    if server:
        env["RELAY_SERVER_URL"] = server
    else:
        env.update(
            RELAY_HOME=str(settings.home),
            RELAY_DATABASE_URL=settings.database_url,
            RELAY_ARTIFACT_URI=settings.artifact_uri,
        )
    if token:
        env["RELAY_TOKEN"] = token
    return env


def _session() -> tuple[Backend, str, Settings]:
    from relayml.sdk.session import current

    s = current()
    return s.backend, s.project, s.settings


def run(
    target: Pipeline[Any] | str,
    *,
    params: dict[str, Any] | None = None,
    executor: str = "local",
    no_cache: bool = False,
    max_workers: int | None = None,
    project: str | None = None,
) -> PipelineRun:
    """Run a pipeline (an object or "module:name" / "file.py:name") to the end.

    Returns the run record; a failed run does not raise, call `.raise_for_status()` for that.
    """
    from relayml.pipelines.runner import run_pipeline

    backend, default_project, settings = _session()
    return run_pipeline(
        backend,
        target,
        project=project or default_project,
        params=params,
        executor=executor,
        no_cache=no_cache,
        max_workers=max_workers,
        env=worker_env(settings),
    )


def register(
    target: Pipeline[Any] | str, *, params: dict[str, Any] | None = None, project: str | None = None
) -> PipelineInfo:
    """Record a pipeline (its code reference, graph and schedule) without running it."""
    from relayml.pipelines.runner import register as _register

    backend, default_project, _ = _session()
    pipe, _ref, _graph = _register(backend, target, project or default_project, params)
    for info in backend.pipelines.list_pipelines(project or default_project):
        if info.name == pipe.name:
            return info
    raise AssertionError("registered pipeline not listed")  # pragma: no cover


def backfill(
    target: Pipeline[Any] | str,
    start: datetime | date | str,
    end: datetime | date | str,
    *,
    every: str | None = None,
    rerun: bool = False,
    params: dict[str, Any] | None = None,
    executor: str = "local",
    no_cache: bool = False,
    max_workers: int | None = None,
    project: str | None = None,
) -> Backfill:
    """Run a pipeline once per past cron slot of [start, end] (a bare date as `end` includes
    its day), oldest first, each with trigger ``backfill`` and its slot; slots a run already
    finished are skipped unless `rerun`. `every` gives the slots' cron for a pipeline without
    a schedule (or instead of it). The schedule itself is untouched. A failed run does not
    raise: see ``.failed`` and ``.raise_for_status()``. At most 1,000 slots at a time."""
    from relayml.pipelines.backfills import backfill as _backfill

    backend, default_project, settings = _session()
    return _backfill(
        backend, target, start, end, project=project or default_project, every=every,
        rerun=rerun, params=params, executor=executor, no_cache=no_cache,
        max_workers=max_workers, env=worker_env(settings),
    )  # fmt: skip


def get(name: str, *, project: str | None = None) -> PipelineInfo:
    """A registered pipeline: its schedule, when it runs next (`next_run`), any pause."""
    backend, default_project, _ = _session()
    return backend.pipelines.get_pipeline(project or default_project, name)


def pause(name: str, reason: str, *, project: str | None = None) -> PipelineInfo:
    """Pause a pipeline's schedule: `relay scheduler` starts nothing of it until `resume`.
    Manual runs and backfills still run. Needs schedule.manage; audited."""
    backend, default_project, _ = _session()
    return backend.pipelines.pause(project or default_project, name, reason)


def resume(name: str, *, project: str | None = None) -> PipelineInfo:
    """Resume a paused schedule from now: the slots missed while paused are not run
    (backfill them if they are needed). Audited."""
    backend, default_project, _ = _session()
    return backend.pipelines.resume(project or default_project, name)


def list_pipelines(project: str | None = None) -> builtins.list[PipelineInfo]:
    """The project's registered pipelines: ``relay.pipelines.list()``, as ``datasets.list()``."""
    backend, default_project, _ = _session()
    return backend.pipelines.list_pipelines(project or default_project)


def runs(
    pipeline: str | None = None, *, project: str | None = None, limit: int = 50
) -> builtins.list[PipelineRun]:
    backend, default_project, _ = _session()
    return backend.pipelines.list_runs(project or default_project, pipeline, limit)


def get_run(run_id: str) -> PipelineRun:
    backend, _, _ = _session()
    return backend.pipelines.get_run(run_id)


def output(run: PipelineRun | str, step: str, *, dest: str | Path | None = None) -> Any:
    """A step's output as the next step would get it: a DataFrame/Table, a Path, a Dataset, or
    the JSON value. Files are downloaded into `dest` (a new temporary folder by default)."""
    from relayml.pipelines import outputs

    backend, _, _ = _session()
    record = backend.pipelines.get_run(run) if isinstance(run, str) else run
    out = record.step(step).output
    if out is None:
        raise_no_output(record, step)
    assert out is not None
    path = None
    if out.blob is not None:
        folder = Path(dest) if dest is not None else Path(tempfile.mkdtemp(prefix="relay-out-"))
        name = out.name if out.kind == "file" and out.name else outputs.TABLE_FILE
        path = str(backend.pipelines.download_blob(record.id, out.blob, folder / name))
    value, _ref = outputs.load(out, path)
    return value


def raise_no_output(record: PipelineRun, step: str) -> None:
    from relayml.errors import NotFound

    state = record.step(step)
    raise NotFound(
        f"step {step!r} of pipeline run {record.id} has no output (it is {state.status.value})"
    )


def logs(run: PipelineRun | str, step: str) -> str:
    """Everything the step printed (stdout and stderr, all attempts); '' if nothing."""
    backend, _, _ = _session()
    record = backend.pipelines.get_run(run) if isinstance(run, str) else run
    digest = record.step(step).logs_digest
    if digest is None:
        return ""
    with scratch_dir("logs") as tmp:
        path = backend.pipelines.download_blob(record.id, digest, tmp / "step.log")
        return path.read_text(encoding="utf-8", errors="replace")


# Listing is `list` in every SDK area module (`relay.datasets.list`, `relay.pipelines.list`),
# `list_<things>` below it (services, store, client) and `ls` in the CLI. The name is bound last
# and the annotations above say `builtins.list`, since it shadows the builtin in this module.
list = list_pipelines
