"""Runs as the SDK user sees them: `start_run`, `get_run`, `search_runs`."""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
import time
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

from relayml.client.base import Backend
from relayml.domain.artifacts import check_logical_path
from relayml.domain.tracking import (
    ArtifactInfo,
    MetricPoint,
    RunRecord,
    RunStatus,
    check_key,
    metric_step,
    metric_timestamp,
    metric_value,
    param_value,
)
from relayml.errors import Conflict, InvalidInput
from relayml.sdk import session as _session
from relayml.sdk.flusher import HEARTBEAT_INTERVAL, flusher

if TYPE_CHECKING:
    import pandas as pd

    from relayml.domain.models import ModelVersion
    from relayml.sdk.datasets import Dataset

_active: contextvars.ContextVar[tuple[ActiveRun, ...]] = contextvars.ContextVar(
    "relay_active_runs", default=()
)


class Run:
    """A run's recorded state. Attributes are a snapshot; `refresh()` reloads them."""

    def __init__(self, backend: Backend, record: RunRecord) -> None:
        self._backend = backend
        self._record = record

    id = property(lambda self: self._record.id)
    name = property(lambda self: self._record.name)
    project = property(lambda self: self._record.project)
    experiment = property(lambda self: self._record.experiment)
    user = property(lambda self: self._record.user)
    parent_id = property(lambda self: self._record.parent_id)

    @property
    def status(self) -> RunStatus:
        return self._record.status

    @property
    def start_time(self) -> datetime:
        return self._record.start_time

    @property
    def end_time(self) -> datetime | None:
        return self._record.end_time

    @property
    def params(self) -> dict[str, str]:
        return dict(self._record.params)

    @property
    def metrics(self) -> dict[str, float]:
        """The latest value of each metric (highest step, then newest)."""
        return dict(self._record.metrics)

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._record.tags)

    def refresh(self) -> Run:
        self._record = self._backend.tracking.get_run(self.id)
        return self

    def metric_history(self, key: str) -> list[MetricPoint]:
        return self._backend.tracking.metric_history(self.id, key)

    def list_artifacts(self, prefix: str | None = None) -> list[ArtifactInfo]:
        return self._backend.artifacts.list_artifacts(self.id, prefix)

    def download_artifact(self, path: str, dest: str | os.PathLike[str] = ".") -> Path:
        """Fetch one artifact (or every file under a directory path) into `dest`, verified."""
        logical = check_logical_path(path.rstrip("/"))
        items = self.list_artifacts(logical)
        if not items:
            raise InvalidInput(f"run {self.id} has no artifact {logical!r}")
        dest_path = Path(dest)
        exact = [a for a in items if a.path == logical]
        if exact:
            target = dest_path / Path(logical).name if dest_path.is_dir() else dest_path
            return self._backend.artifacts.download_artifact(self.id, logical, target)
        root = dest_path / Path(logical).name
        for a in items:
            rel = a.path[len(logical) + 1 :]
            self._backend.artifacts.download_artifact(self.id, a.path, root / rel)
        return root

    def to_dict(self) -> dict[str, Any]:
        """The run as JSON-able data, as the REST API writes it (`GET /api/v1/runs/ID`)."""
        from relayml.wire.tracking import RunOut

        return RunOut.from_domain(self._record).model_dump(mode="json")

    def __repr__(self) -> str:
        return (
            f"<Run {self.id[:8]} {self.project}/{self.experiment}/{self.name} {self.status.value}>"
        )


class ActiveRun(Run):
    """A run being logged to. Metric points are buffered and written in the background."""

    def __init__(
        self, backend: Backend, record: RunRecord, heartbeat: float = HEARTBEAT_INTERVAL
    ) -> None:
        super().__init__(backend, record)
        self._heartbeat = heartbeat
        self._last_write = time.monotonic()  # creating the run was its first heartbeat
        self._lock = threading.Lock()
        self._io_lock = threading.Lock()  # one flush in flight at a time, so end() waits for it
        self._pending: list[MetricPoint] = []
        # When the oldest buffered point, and the oldest point of the write in flight, was
        # logged (time.time()); None when there is none.
        self._pending_since: float | None = None
        self._inflight_since: float | None = None
        self._steps: dict[str, int] = {}
        self._checked: set[str] = set()
        self._params = dict(record.params)
        self._error: BaseException | None = None
        self._ended = False
        self._token: contextvars.Token[tuple[ActiveRun, ...]] | None = None
        # (model, input example) of the last fit `relay.autolog()` saw in this run
        self._autologged: tuple[Any, Any] | None = None
        flusher.register(self)

    def register_model(self, name: str, **kwargs: Any) -> ModelVersion:
        """Register the model the last scikit-learn fit in this run produced (with
        `relay.autolog()` on) as `name`'s next version, its signature inferred from the first
        rows it was fitted on; `kwargs` as for `relay.models.register` (description, tags,
        input_example ...)."""
        from relayml.sdk.models import register

        return register(name, None, run=self, **kwargs)

    # params & tags (written at once: a conflicting param must fail where it was logged)
    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: dict[str, Any]) -> None:
        clean = {check_key("param", k): param_value(k, v) for k, v in params.items()}
        for k, v in clean.items():
            if k in self._params and self._params[k] != v:
                raise Conflict(
                    f"param {k!r} is already {self._params[k]!r}; params are immutable, so it "
                    f"cannot become {v!r}. Log it under another key or start a new run"
                )
        new = {k: v for k, v in clean.items() if k not in self._params}
        if new:
            self._backend.tracking.log_batch(self.id, params=new)
            self._last_write = time.monotonic()
            self._params.update(new)
            self._record.params.update(new)

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        self._backend.tracking.log_batch(self.id, tags=tags)
        self._last_write = time.monotonic()
        self._record.tags.update({k: str(v) for k, v in tags.items()})

    # metrics (buffered)
    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Buffer one point. `step` defaults to one past this key's previous step.

        The call waits (writes the buffer itself) when the oldest unwritten point is older
        than `flusher.max_lag` seconds or `flusher.max_buffer` points are waiting: nothing is
        dropped, and a hard kill loses at most about the last second of points.
        """
        if key not in self._checked:
            check_key("metric", key)
            self._checked.add(key)
        v = metric_value(key, value)
        now = time.time()
        ts = int(now * 1000) if timestamp is None else metric_timestamp(key, timestamp)
        if step is not None:
            metric_step(key, step)
        with self._lock:
            if step is None:
                step = metric_step(key, self._steps.get(key, -1) + 1)
            self._steps[key] = max(step, self._steps.get(key, -1))
            self._pending.append(MetricPoint(key, v, step, ts))
            n = len(self._pending)
            if self._pending_since is None:
                self._pending_since = now
            oldest = self._inflight_since or self._pending_since
            behind = now - oldest > flusher.max_lag
        self._record.metrics[key] = v
        if behind or n >= flusher.max_buffer:
            self._flush_pending()  # back-pressure: the caller waits for the write
        elif n >= flusher.max_batch:
            flusher.nudge()

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        ts = int(time.time() * 1000)
        for key, value in metrics.items():
            self.log_metric(key, value, step=step, timestamp=ts)

    def _flush_pending(self) -> None:
        """Write what is buffered, in requests of at most `flusher.chunk` points. Points a
        write refused stay buffered, ahead of newer ones, and the error is raised."""
        with self._io_lock:
            with self._lock:
                batch, self._pending = self._pending, []
                self._inflight_since, self._pending_since = self._pending_since, None
            done = 0
            try:
                while done < len(batch):
                    chunk = batch[done : done + flusher.chunk]
                    self._backend.tracking.log_batch(self.id, metrics=chunk)
                    self._last_write = time.monotonic()
                    done += len(chunk)
            except BaseException as exc:
                with self._lock:  # keep the points for the next attempt
                    self._pending = batch[done:] + self._pending
                    if done < len(batch):
                        self._pending_since = self._inflight_since
                    self._inflight_since = None
                self._error = exc
                raise
            with self._lock:
                self._inflight_since = None
            self._error = None

    def flush(self) -> None:
        """Write every buffered point now."""
        self._flush_pending()

    def _heartbeat_if_due(self) -> None:
        """Tell the store this run's process is alive, if nothing was written to the run for
        its heartbeat interval (an empty batch: every write is a heartbeat)."""
        if self._ended or time.monotonic() - self._last_write < self._heartbeat:
            return
        if not self._io_lock.acquire(blocking=False):
            return  # a write is in flight: that is the heartbeat
        try:
            self._backend.tracking.log_batch(self.id)
            self._last_write = time.monotonic()
        finally:
            self._io_lock.release()

    # artifacts
    def log_artifact(
        self, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[ArtifactInfo]:
        """Upload a file, or every file under a directory, keeping relative paths."""
        src = Path(local_path)
        if not src.exists():
            raise InvalidInput(f"cannot log artifact {str(src)!r}: no such file or directory")
        base = artifact_path.strip("/") if artifact_path else src.name
        if src.is_file():
            return [self._backend.artifacts.log_artifact(self.id, check_logical_path(base), src)]
        out = []
        for f in sorted(p for p in src.rglob("*") if p.is_file()):
            rel = f.relative_to(src).as_posix()
            out.append(
                self._backend.artifacts.log_artifact(
                    self.id, check_logical_path(f"{base}/{rel}"), f
                )
            )
        return out

    # lineage
    def use_dataset(self, dataset: Dataset | str, *, allow_quarantined: bool = False) -> Dataset:
        """Record that this run used a dataset version (``ds`` or "loans@3"); returns it.
        A quarantined version is refused unless ``allow_quarantined=True``."""
        from relayml.sdk.datasets import Dataset

        ref = dataset.ref if isinstance(dataset, Dataset) else dataset
        version = self._backend.datasets.use(self.id, ref, allow_quarantined)
        self._record.tags[f"relay.dataset.{version.name}"] = version.ref
        return Dataset(self._backend, version, allow_quarantined=allow_quarantined)

    # lifecycle
    def end(self, status: str = "finished") -> None:
        """Write what is buffered and end the run. If the write fails, the run ends `failed`
        (never `finished` with points missing) and the error is raised."""
        if self._ended:
            return
        try:
            self._flush_pending()
        except BaseException:
            flusher.unregister(self)
            self._ended = True
            with contextlib.suppress(Exception):
                final = "failed" if status == "finished" else status
                self._record = self._backend.tracking.end_run(self.id, final)
            raise
        flusher.unregister(self)
        self._ended = True
        self._record = self._backend.tracking.end_run(self.id, status)

    def __enter__(self) -> ActiveRun:
        self._token = _active.set((*_active.get(), self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _active.reset(self._token)
        if exc_type is None:
            status = "finished"
        elif issubclass(exc_type, KeyboardInterrupt | SystemExit):
            status = "killed"
        else:
            status = "failed"
        self.end(status)


def active_run() -> ActiveRun | None:
    stack = _active.get()
    return stack[-1] if stack else None


def start_run(
    experiment: str = "default",
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    *,
    parent: Run | str | None = None,
    project: str | None = None,
) -> ActiveRun:
    """Start a run; use it as a context manager. Inside another run's `with`, it is its child."""
    from relayml.sdk.context import capture

    sess = _session.current()
    parent_id = parent.id if isinstance(parent, Run) else parent
    if parent_id is None and (outer := active_run()) is not None:
        parent_id = outer.id
    all_tags = {**capture(), **(tags or {})}
    record = sess.backend.tracking.create_run(
        project=project or sess.project,
        experiment=experiment,
        name=name,
        params=params,
        tags=all_tags,
        parent_id=parent_id,
    )
    return ActiveRun(sess.backend, record, sess.settings.heartbeat_interval or HEARTBEAT_INTERVAL)


def get_run(run_id: str) -> Run:
    sess = _session.current()
    return Run(sess.backend, sess.backend.tracking.get_run(run_id))


class RunList(list[Run]):
    """A page of runs; `next_page_token` fetches the next page when there is one."""

    next_page_token: str | None = None


@overload
def search_runs(
    experiment: str | list[str] | None = None,
    filter: str | None = None,
    order_by: list[str] | None = None,
    limit: int = 1000,
    *,
    page_token: str | None = None,
    project: str | None = None,
    as_frame: Literal[False] = False,
) -> RunList: ...


@overload
def search_runs(
    experiment: str | list[str] | None = None,
    filter: str | None = None,
    order_by: list[str] | None = None,
    limit: int = 1000,
    *,
    page_token: str | None = None,
    project: str | None = None,
    as_frame: Literal[True],
) -> pd.DataFrame: ...


@overload
def search_runs(
    experiment: str | list[str] | None = None,
    filter: str | None = None,
    order_by: list[str] | None = None,
    limit: int = 1000,
    *,
    page_token: str | None = None,
    project: str | None = None,
    as_frame: bool = False,
) -> RunList | pd.DataFrame: ...


def search_runs(
    experiment: str | list[str] | None = None,
    filter: str | None = None,
    order_by: list[str] | None = None,
    limit: int = 1000,
    *,
    page_token: str | None = None,
    project: str | None = None,
    as_frame: bool = False,
) -> RunList | pd.DataFrame:
    sess = _session.current()
    experiments = [experiment] if isinstance(experiment, str) else experiment
    page = sess.backend.tracking.search_runs(
        project=project or sess.project,
        experiments=experiments,
        filter=filter,
        order_by=order_by,
        limit=limit,
        page_token=page_token,
    )
    runs = RunList(Run(sess.backend, r) for r in page.runs)
    runs.next_page_token = page.next_page_token
    if as_frame:
        return runs_frame(runs)
    return runs


def runs_frame(runs: list[Run]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for r in runs:
        row: dict[str, Any] = {
            "run_id": r.id,
            "experiment": r.experiment,
            "name": r.name,
            "status": r.status.value,
            "user": r.user,
            "start_time": r.start_time,
            "end_time": r.end_time,
        }
        row.update({f"params.{k}": v for k, v in r.params.items()})
        row.update({f"metrics.{k}": v for k, v in r.metrics.items()})
        row.update({f"tags.{k}": v for k, v in r.tags.items() if not k.startswith("relay.")})
        rows.append(row)
    return pd.DataFrame(rows)
