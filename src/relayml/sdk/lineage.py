"""Where the code calling the SDK is running, for lineage: inside which pipeline run and step,
reading which dataset versions. Pipeline executors set it in the process running a step;
`relay.datasets.publish` and `run.use_dataset` read it."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StepContext:
    pipeline_run_id: str
    step: str
    inputs: tuple[str, ...] = field(default_factory=tuple)  # dataset refs like "loans@3"


current_step: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar(
    "relay_current_step", default=None
)


step_worker: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "relay_step_worker", default=None
)
"""The step whose worker is running this code (loading its module or calling it): a pipeline
run started here would re-import the module in a worker of its own, and so on without end."""
