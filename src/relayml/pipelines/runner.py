"""Running a pipeline: build the graph, record the run, then drive the steps to the end.

Steps start as soon as their inputs exist, up to the executor's parallelism. For each step:
cache lookup, attempts with retries and exponential backoff, a timeout that kills the
attempt, captured logs, and the output stored by reference. A failing step fails only the
steps that depend on it (skipped); the others still run. State goes through the Backend, so
the same code records into an embedded store or a Relay server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from relayml.client.base import Backend
from relayml.domain.pipelines import (
    DATASET_PARAM,
    SLOT_PARAM,
    PipelineRun,
    StepOutput,
    StepStatus,
)
from relayml.errors import InvalidInput
from relayml.executors.base import Attempt, Executor, Result, Task, get_executor
from relayml.pipelines import cache, loader, outputs
from relayml.pipelines.dag import Graph, Node, Pipeline
from relayml.pipelines.worker import ENTRY, StepInput, StepTask
from relayml.scratch import make_scratch
from relayml.sdk.lineage import step_worker

TICK = 0.5  # longest wait between checks of timeouts and retry times


def resolve(target: Pipeline[Any] | str) -> tuple[Pipeline[Any], str]:
    """The pipeline and the reference workers import it by."""
    if isinstance(target, str):
        found = loader.load(target)
        if not isinstance(found, Pipeline):
            raise InvalidInput(
                f"{target!r} is a {type(found).__name__}, not a pipeline; decorate the "
                "function with @relay.pipeline"
            )
        return found, loader.ref_of(found.fn)
    if not isinstance(target, Pipeline):
        raise InvalidInput(f"expected a @relay.pipeline or a reference to one, got {target!r}")
    return target, loader.ref_of(target.fn)


def register(
    backend: Backend,
    target: Pipeline[Any] | str,
    project: str,
    params: dict[str, Any] | None = None,
) -> tuple[Pipeline[Any], str, Graph]:
    pipe, ref = resolve(target)
    graph = pipe.build(params)
    defaults = {k: v for k, v in pipe.defaults().items() if v is not pipe.signature.empty}
    backend.pipelines.register(
        project, pipe.name, module=ref, schedule=pipe.schedule, params=defaults,
        steps=graph.specs(), on_publish=list(pipe.on_publish),
    )  # fmt: skip
    return pipe, ref, graph


def run_pipeline(
    backend: Backend,
    target: Pipeline[Any] | str,
    *,
    project: str,
    params: dict[str, Any] | None = None,
    executor: str | Executor = "local",
    no_cache: bool = False,
    trigger: str = "manual",
    scheduled_for: datetime | None = None,
    dataset: str | None = None,
    env: dict[str, str] | None = None,
    max_workers: int | None = None,
    on_update: Callable[[str, StepStatus], None] | None = None,
    loop_run: str | None = None,
    cancel: threading.Event | None = None,
) -> PipelineRun:
    """Run a pipeline to the end and return its record (failed steps do not raise: see
    `PipelineRun.raise_for_status`). SIGTERM is handled as Ctrl-C is: the steps still running
    are killed and the run ends failed. Setting `cancel` (from another thread) stops it the
    same way within `TICK` seconds, but the run ends `killed` and its record is returned: its
    runner stopped it, nothing in it failed (a loop starts it again, docs/loops.md)."""
    refuse_nested_run()
    pipe, _ref = resolve(target)
    params = trigger_params(pipe, params, scheduled_for, dataset)
    pipe, _ref, graph = register(backend, pipe, project, params)
    values = pipe.bind(params)
    runner = executor if not isinstance(executor, str) else get_executor(executor, max_workers)
    try:
        run = backend.pipelines.start_run(
            project,
            pipe.name,
            steps=graph.specs(),
            trigger=trigger,
            executor=runner.name,
            params=values,
            scheduled_for=scheduled_for,
            dataset=dataset,
            loop_run=loop_run,
        )
        with sigterm_interrupts():
            drive = _Orchestrator(
                backend, run, graph, runner, no_cache, env or {}, on_update, cancel
            )
            with contextlib.suppress(Cancelled):  # recorded as killed; the caller reads it
                drive.drive()
    finally:
        if isinstance(executor, str):
            runner.close()
    return backend.pipelines.get_run(run.id)


def trigger_params(
    pipe: Pipeline[Any],
    params: dict[str, Any] | None,
    scheduled_for: datetime | None,
    dataset: str | None = None,
) -> dict[str, Any]:
    """The run's parameters, with what its trigger gives: a parameter named `slot` receives
    the slot of a scheduled or backfill run as ISO 8601 text, one named `dataset` the version
    whose publication started the run ("loans@7")."""
    values = dict(params or {})
    if scheduled_for is not None and SLOT_PARAM in pipe.signature.parameters:
        values[SLOT_PARAM] = scheduled_for.isoformat()
    if dataset is not None and DATASET_PARAM in pipe.signature.parameters:
        values[DATASET_PARAM] = dataset
    return values


def refuse_nested_run() -> None:
    """A step's worker imports the step's module; a pipeline run at its top level would start
    workers that import it again, without end. Refuse it at once, showing the fix."""
    step = step_worker.get()
    if step is not None:
        raise InvalidInput(
            f"a pipeline run was started inside the worker of step {step!r}: the module that "
            "defines the step starts a run when it is imported, and each step worker imports "
            "it again. Start the run only when the file is run as a script:\n\n"
            '    if __name__ == "__main__":\n'
            "        relay.pipelines.run(my_pipeline)\n"
        )


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises SystemExit(143) as Ctrl-C raises KeyboardInterrupt, so
    the steps still running are killed and the run is recorded as ended (the default action
    would end this process at once, leaving step workers orphaned and the run `running`).
    Only in the main thread, and only over the default action: a handler of the caller's
    own is left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None):
        yield
        return

    def on_sigterm(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Cancelled(Exception):
    """Raised inside `_Orchestrator.drive` when its `cancel` event is set."""


@dataclass
class _State:
    node: Node
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    cache_key: str | None = None
    output: StepOutput | None = None
    attempt: Attempt | None = None
    deadline: float | None = None
    not_before: float = 0.0  # a retry waits for its backoff
    logs: list[str] = field(default_factory=list)
    error: str | None = None
    traceback: str | None = None


class _Orchestrator:
    def __init__(
        self,
        backend: Backend,
        run: PipelineRun,
        graph: Graph,
        executor: Executor,
        no_cache: bool,
        env: dict[str, str],
        on_update: Callable[[str, StepStatus], None] | None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.backend = backend
        self.run = run
        self.executor = executor
        self.no_cache = no_cache
        self.env = {**env, "RELAY_PROJECT": run.project}
        self.on_update = on_update
        self.states = {n.name: _State(n) for n in graph.nodes}
        self.work = make_scratch(f"pipeline-{run.id[:8]}")  # removed when the run ends
        self.blobs: dict[str, str] = {}
        self.cancel = cancel  # set from another thread: stop, the run ends killed

    # recording -----------------------------------------------------------------------------
    def _record(self, st: _State, status: StepStatus, **extra: Any) -> None:
        st.status = status
        self.backend.pipelines.record_step(
            self.run.id,
            st.node.name,
            status=status.value,
            attempts=st.attempts,
            cache_key=st.cache_key,
            cached=status is StepStatus.CACHED,
            output=st.output,
            error=st.error,
            user_traceback=st.traceback,
            **extra,
        )
        if self.on_update is not None:
            self.on_update(st.node.name, status)

    # the loop ------------------------------------------------------------------------------
    def drive(self) -> None:
        try:
            while True:
                if self.cancel is not None and self.cancel.is_set():
                    raise Cancelled
                self._settle()
                self._launch()
                running = [s for s in self.states.values() if s.attempt is not None]
                waiting = [
                    s
                    for s in self.states.values()
                    if s.status is StepStatus.RUNNING and s.attempt is None
                ]
                if not running and not waiting:
                    if all(s.status.terminal for s in self.states.values()):
                        break
                    continue
                self._wait(running, waiting)
                self._collect(running)
        except BaseException as exc:
            for st in self.states.values():
                if st.attempt is not None:
                    st.attempt.kill()
            self._finish(interrupted=True, cancelled=isinstance(exc, Cancelled))
            raise
        finally:
            shutil.rmtree(self.work, ignore_errors=True)
        self._finish()

    def _settle(self) -> None:
        """Skip steps whose upstream failed; serve cache hits; mark the rest ready."""
        for st in self.states.values():
            if st.status is not StepStatus.PENDING:
                continue
            ups = [self.states[u] for u in st.node.upstream]
            bad = [u.node.name for u in ups if u.status in (StepStatus.FAILED, StepStatus.SKIPPED)]
            if bad:
                st.error = f"skipped: upstream step {', '.join(bad)} did not succeed"
                self._record(st, StepStatus.SKIPPED)
                continue
            if not all(u.status.ok for u in ups):
                continue
            st.cache_key = self._cache_key(st.node)
            if not self.no_cache and st.node.step.cache:
                hit = self.backend.pipelines.find_cached(self.run.project, st.cache_key)
                if hit is not None:
                    st.output = hit
                    self._record(st, StepStatus.CACHED)
                    continue
            st.status = StepStatus.RUNNING  # ready: launched as soon as a worker is free
            st.not_before = 0.0

    def _cache_key(self, node: Node) -> str:
        literals: dict[str, Any] = {}
        inputs: dict[str, str] = {}
        for arg, value in node.args.items():
            if isinstance(value, Node):
                out = self.states[value.name].output
                assert out is not None
                inputs[arg] = f"{out.kind}:{out.digest}"
            else:
                literals[arg] = value
        identity = loader.ref_of(node.step.fn)
        return cache.cache_key(identity, cache.source_digest(node.step.fn), literals, inputs)

    def _launch(self) -> None:
        busy = sum(1 for s in self.states.values() if s.attempt is not None)
        now = time.monotonic()
        for st in self.states.values():
            if busy >= self.executor.max_workers:
                return
            if st.status is not StepStatus.RUNNING or st.attempt is not None:
                continue
            if st.not_before > now:
                continue
            st.attempts += 1
            self._record(st, StepStatus.RUNNING)
            st.attempt = self.executor.submit(self._task(st))
            timeout = st.node.step.timeout
            st.deadline = time.monotonic() + timeout if timeout is not None else None
            busy += 1

    def _task(self, st: _State) -> Task:
        name = f"{st.node.name}.{st.attempts}"
        log = self.work / f"{name}.log"
        st.logs.append(str(log))
        args: dict[str, StepInput] = {}
        for arg, value in st.node.args.items():
            if isinstance(value, Node):
                out = self.states[value.name].output
                assert out is not None
                args[arg] = StepInput(output=out, path=self._materialise(out))
            else:
                args[arg] = StepInput(literal=value)
        step = StepTask(
            pipeline_run_id=self.run.id,
            project=self.run.project,
            step=st.node.name,
            step_ref=loader.ref_of(st.node.step.fn),
            args=args,
            out_dir=str(self.work / f"{name}.out"),
        )
        return Task(
            entry=ENTRY,
            payload=step.to_json(),
            log_path=str(log),
            result_path=str(self.work / f"{name}.result.json"),
            env=self.env,
            sys_path=(os.getcwd(), *[p for p in sys.path if p]),
        )

    def _materialise(self, out: StepOutput) -> str | None:
        """A local copy of an upstream blob, downloaded once per run."""
        if out.blob is None:
            return None
        if out.blob not in self.blobs:
            name = out.name if out.kind == "file" and out.name else outputs.TABLE_FILE
            dest = self.work / "inputs" / out.blob / name
            self.backend.pipelines.download_blob(self.run.id, out.blob, dest)
            self.blobs[out.blob] = str(dest)
        return self.blobs[out.blob]

    def _wait(self, running: list[_State], waiting: list[_State]) -> None:
        now = time.monotonic()
        times = [s.deadline for s in running if s.deadline is not None]
        times += [s.not_before for s in waiting]
        timeout = min([TICK, *[t - now for t in times]])
        attempts = [s.attempt for s in running if s.attempt is not None]
        if attempts:
            self.executor.wait(attempts, max(0.0, timeout))
        elif timeout > 0:
            time.sleep(timeout)

    def _collect(self, running: list[_State]) -> None:
        now = time.monotonic()
        for st in running:
            assert st.attempt is not None
            result = st.attempt.poll()
            if result is None:
                if st.deadline is None or now < st.deadline:
                    continue
                st.attempt.kill()
                limit = st.node.step.timeout
                result = Result.failure(
                    f"step {st.node.name!r} ran longer than its timeout of {limit:g} s "
                    "and was killed; raise timeout= or make it faster"
                )
            st.attempt = None
            st.deadline = None
            if result.ok:
                self._finished(st, outputs.Saved.from_json(result.value))
            else:
                self._failed(st, result)

    def _finished(self, st: _State, saved: outputs.Saved) -> None:
        try:
            if saved.kind == "value":
                out = StepOutput("value", outputs.digest_of_value(saved.value), saved.value)
            elif saved.kind == "dataset":
                out = StepOutput("dataset", str(saved.ref), ref=str(saved.ref))
            else:
                digest, size = self.backend.pipelines.put_blob(self.run.id, str(saved.path))
                out = StepOutput(
                    saved.kind, digest, format=saved.format, name=saved.name, size=size
                )
        except OSError as exc:
            failure = Result.failure(f"storing the step's output failed: {exc}")
            self._failed(st, failure, final=True)
            return
        st.output = out
        st.error = st.traceback = None
        self._record(st, StepStatus.FINISHED, logs_digest=self._logs(st))

    def _failed(self, st: _State, result: Result, final: bool = False) -> None:
        st.error = result.error + (
            f" (attempt {st.attempts} of {st.node.step.retries + 1})" if st.attempts > 1 else ""
        )
        st.traceback = result.traceback or None
        if not final and st.attempts <= st.node.step.retries:
            backoff = st.node.step.backoff * 2 ** (st.attempts - 1)
            st.not_before = time.monotonic() + backoff
            with open(st.logs[-1], "a", encoding="utf-8") as fh:
                fh.write(f"\n[relay] attempt {st.attempts} failed: {st.error}\n")
                fh.write(f"[relay] retrying in {backoff:g} s\n")
            return
        self._record(st, StepStatus.FAILED, logs_digest=self._logs(st))

    def _logs(self, st: _State) -> str | None:
        """All attempts' output as one blob; None when the step printed nothing."""
        parts: list[str] = []
        for i, path in enumerate(st.logs, 1):
            try:
                text = Path(path).read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                text = ""
            if len(st.logs) > 1:
                text = f"[relay] --- attempt {i} ---\n{text}"
            parts.append(text)
        combined = "".join(parts)
        if not combined.strip():
            return None
        log = self.work / f"{st.node.name}.all.log"
        log.write_text(combined, encoding="utf-8")
        digest, _size = self.backend.pipelines.put_blob(self.run.id, log)
        return digest

    def _finish(self, interrupted: bool = False, cancelled: bool = False) -> None:
        failed = [s for s in self.states.values() if s.status is StepStatus.FAILED]
        if cancelled:
            error: str | None = "cancelled by its runner; steps still running were killed"
        elif interrupted:
            error = "interrupted before the end; steps still running were killed"
        elif failed:
            error = "; ".join(f"{s.node.name}: {s.error}" for s in failed)
        else:
            error = None
        try:
            status = "killed" if cancelled else "failed" if error else "finished"
            self.backend.pipelines.finish_run(self.run.id, status, error)
        except Exception:
            if not interrupted:
                raise
