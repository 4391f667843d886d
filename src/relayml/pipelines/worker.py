"""One attempt of one step, in the process that runs it: import the step by reference, load its
inputs, call it inside the user-code boundary, save its output by reference.

The runner hands executors `ENTRY` with a `StepTask` as payload; the local executor calls it in
a process of its own (so a timeout can kill it), the Ray executor in a Ray worker.
"""

from __future__ import annotations

import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

from relayml.domain.pipelines import StepOutput
from relayml.executors.base import Result
from relayml.wire.pipelines import StepOutputOut


@dataclass(frozen=True)
class StepInput:
    """One argument of a step: a literal, or an upstream step's output (and the local copy of
    its blob, if it has one)."""

    literal: Any = None
    output: StepOutput | None = None
    path: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.output is None:
            return {"literal": self.literal}
        return {"output": StepOutputOut.from_domain(self.output).model_dump(), "path": self.path}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> StepInput:
        if "output" not in d:
            return cls(literal=d.get("literal"))
        output = StepOutputOut.model_validate(d["output"]).to_domain()
        return cls(output=output, path=d.get("path"))


@dataclass(frozen=True)
class StepTask:
    """What an attempt of a step needs: which step, its arguments, where its output goes."""

    pipeline_run_id: str
    project: str
    step: str
    step_ref: str  # "module:name" or "file.py:name", imported by the worker
    args: dict[str, StepInput]
    out_dir: str

    def to_json(self) -> dict[str, Any]:
        return {
            "pipeline_run_id": self.pipeline_run_id,
            "project": self.project,
            "step": self.step,
            "step_ref": self.step_ref,
            "args": {name: arg.to_json() for name, arg in self.args.items()},
            "out_dir": self.out_dir,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> StepTask:
        args = {name: StepInput.from_json(arg) for name, arg in d["args"].items()}
        return cls(**{**d, "args": args})


def _user_traceback(exc: BaseException, skip: int = 1) -> str:
    """The traceback from the user's frames on: the worker's own frames are dropped."""
    tb = exc.__traceback__
    for _ in range(skip):
        if tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def run_step(payload: dict[str, Any]) -> Result:
    """The executors' entry point (`ENTRY`): run one attempt of the step `payload` describes."""
    from relayml.sdk.lineage import step_worker

    task = StepTask.from_json(payload)
    session = sys.modules.get("relayml.sdk.session")
    if session is not None:  # a reused worker process (Ray): reconnect with this task's settings
        session.reset()
    started = time.monotonic()
    in_worker = step_worker.set(task.step)  # a pipeline run started in here is refused
    try:
        return _run(task, started)
    finally:
        step_worker.reset(in_worker)


def _run(task: StepTask, started: float) -> Result:
    from relayml.errors import RelayError
    from relayml.pipelines import loader, outputs
    from relayml.sdk.lineage import StepContext, current_step

    try:
        step = loader.load(task.step_ref)
        fn = getattr(step, "fn", step)
    except RelayError as exc:
        tb = getattr(exc, "user_traceback", "")
        return Result.failure(f"cannot load step {task.step_ref}: {exc.message}", tb)
    kwargs: dict[str, Any] = {}
    datasets: list[str] = []
    try:
        for name, arg in task.args.items():
            if arg.output is None:
                kwargs[name] = arg.literal
                continue
            value, ref = outputs.load(arg.output, arg.path)
            kwargs[name] = value
            if ref is not None:
                datasets.append(ref)
    except Exception as exc:
        return Result.failure(
            f"loading the inputs of step {task.step!r} failed: {type(exc).__name__}: {exc}",
            traceback.format_exc(),
        )
    context = StepContext(task.pipeline_run_id, task.step, inputs=tuple(datasets))
    token = current_step.set(context)
    try:
        value = fn(**kwargs)
    except (Exception, SystemExit, KeyboardInterrupt) as exc:
        return Result.failure(f"{type(exc).__name__}: {exc}", _user_traceback(exc))
    finally:
        current_step.reset(token)
    try:
        saved = outputs.save(value, task.out_dir)
    except RelayError as exc:
        return Result.failure(exc.message)
    except Exception as exc:
        return Result.failure(
            f"saving the output of step {task.step!r} failed: {type(exc).__name__}: {exc}",
            traceback.format_exc(),
        )
    return Result(ok=True, value=saved.to_json(), seconds=time.monotonic() - started)


ENTRY = f"{__name__}:{run_step.__name__}"
