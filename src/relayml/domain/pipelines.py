"""Pipelines, their runs and step runs: entities and their rules (pure, no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from relayml.domain.enums import parse_enum
from relayml.domain.identity import check_name
from relayml.domain.scheduling import Pause
from relayml.domain.tracking import DEPRECATED_SUCCEEDED, RunStatus
from relayml.errors import InvalidInput, UserCodeError

_STEP = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}\Z")
OUTPUT_KINDS = ("value", "table", "file", "dataset")


class StepStatus(StrEnum):
    """A step's state; it ends as a run does (`finished`, `failed`) or `skipped`/`cached`.
    A pipeline run's own state is a `RunStatus`, as an experiment run's is."""

    PENDING = "pending"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    SKIPPED = "skipped"
    CACHED = "cached"

    @property
    def terminal(self) -> bool:
        return self not in (StepStatus.PENDING, StepStatus.RUNNING)

    @property
    def ok(self) -> bool:
        """Finished with an output downstream steps can use."""
        return self in (StepStatus.FINISHED, StepStatus.CACHED)

    @classmethod
    def _missing_(cls, value: object) -> StepStatus | None:
        return cls.FINISHED if value == DEPRECATED_SUCCEEDED else None


class Trigger(StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"  # a cron slot, claimed once by a scheduler
    BACKFILL = "backfill"  # a past slot, run on request; the schedule's claims are untouched
    DATASET = "dataset"  # a new version of a dataset the pipeline watches (on_publish)
    LOOP = "loop"  # a loop run (alert -> retrain -> canary), which the run's start claims

    @property
    def has_slot(self) -> bool:
        """Runs of this trigger are for a cron slot (`scheduled_for`), and a pipeline
        parameter named `slot` receives it."""
        return self in (Trigger.SCHEDULE, Trigger.BACKFILL)


SLOT_PARAM = "slot"  # a pipeline parameter of this name receives the run's slot (ISO 8601)
DATASET_PARAM = "dataset"  # ... and one of this name the version that triggered it ("loans@7")
MAX_WATCHED = 20  # datasets one pipeline's on_publish may name


def check_on_publish(value: object) -> list[str]:
    """The datasets whose new versions start the pipeline: a name or a list of names, each
    once, in the order given."""
    if value is None:
        return []
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise InvalidInput(
            f"on_publish is a dataset name or a list of names, e.g. on_publish='loans', "
            f"not {value!r:.60}"
        )
    if len(names) > MAX_WATCHED:
        raise InvalidInput(f"on_publish names {len(names)} datasets; at most {MAX_WATCHED}")
    seen: list[str] = []
    for n in names:
        if "@" in n:
            raise InvalidInput(
                f"on_publish names datasets, not versions: write {n.split('@')[0]!r}, not {n!r}"
            )
        check_name("dataset", n)
        if n not in seen:
            seen.append(n)
    return seen


@dataclass(frozen=True)
class DatasetTrigger:
    """A pipeline watching a dataset: its newest version that started a run, or the newest
    that existed when the trigger was set (versions up to it never start one)."""

    dataset: str
    last_version: int


@dataclass(frozen=True)
class DueTrigger:
    """A usable version of a watched dataset that has not started the pipeline yet."""

    project: str
    pipeline: str
    dataset: str
    version: int

    @property
    def ref(self) -> str:
        return f"{self.dataset}@{self.version}"


class ExecutorKind(StrEnum):
    LOCAL = "local"
    RAY = "ray"


def parse_step_status(value: object) -> StepStatus:
    return parse_enum(StepStatus, "step status", value)


def parse_trigger(value: object) -> Trigger:
    return parse_enum(Trigger, "trigger", value)


def parse_executor(value: object) -> ExecutorKind:
    return parse_enum(ExecutorKind, "executor", value)


def check_step_name(value: str) -> str:
    if not isinstance(value, str) or not _STEP.match(value):
        raise InvalidInput(
            f"invalid step name {value!r}: use 1-128 letters, digits, '_', '.', '-', "
            "starting with a letter or '_'"
        )
    return value


def check_cron(expression: str | None) -> str | None:
    """A five-field cron expression ("0 3 * * *"), or None for an unscheduled pipeline."""
    if expression is None:
        return None
    from croniter import croniter

    if not isinstance(expression, str) or not croniter.is_valid(expression):
        raise InvalidInput(
            f"invalid cron schedule {expression!r}; write five fields such as '0 3 * * *' "
            "(minute hour day-of-month month day-of-week)"
        )
    return expression.strip()


@dataclass(frozen=True)
class StepOutput:
    """What a step produced, by reference: a dataset version, a blob in the artifact store
    (a Parquet table or a file) or a small JSON value kept inline."""

    kind: str  # one of OUTPUT_KINDS
    digest: str  # content identity: blob sha256, dataset ref, or sha256 of the JSON value
    value: Any = None  # kind == "value"
    ref: str | None = None  # kind == "dataset": "loans@3"
    format: str | None = None  # kind == "table": "pandas" or "arrow"
    name: str | None = None  # kind == "file": the file's name
    size: int = 0

    @property
    def blob(self) -> str | None:
        return self.digest if self.kind in ("table", "file") else None


@dataclass(frozen=True)
class StepSpec:
    """A node of a pipeline's graph: its name and the steps it reads from."""

    name: str
    upstream: tuple[str, ...] = ()


def check_graph(steps: list[StepSpec]) -> list[StepSpec]:
    """Unique names; each step's upstream steps come before it (so the order is topological)."""
    seen: set[str] = set()
    for s in steps:
        check_step_name(s.name)
        if s.name in seen:
            raise InvalidInput(f"step {s.name!r} appears twice in the pipeline graph")
        missing = [u for u in s.upstream if u not in seen]
        if missing:
            raise InvalidInput(
                f"step {s.name!r} reads from {missing}, which are not earlier steps of the graph"
            )
        seen.add(s.name)
    return steps


@dataclass
class PipelineInfo:
    project: str
    name: str
    module: str  # "package.module:attr" or "/abs/path/file.py:attr"
    schedule: str | None
    params: dict[str, Any]
    steps: list[StepSpec]
    created_at: datetime
    created_by: str
    updated_at: datetime
    last_scheduled: datetime | None = None  # the last cron slot a scheduled run was started for
    schedule_since: datetime | None = None  # when the current schedule was set (or resumed)
    paused: Pause | None = None  # paused, it starts nothing (slots, publications) until resumed
    next_run: datetime | None = None  # the slot the scheduler starts next, as of the read
    on_publish: list[DatasetTrigger] = field(default_factory=list)


@dataclass(frozen=True)
class BackfillPlan:
    """The slots a backfill runs, oldest first, and those it skips because a run for them
    already finished (unless asked to run them again)."""

    project: str
    pipeline: str
    cron: str
    start: datetime
    end: datetime
    until: datetime  # the end, or now if the range reaches past it: later slots are the scheduler's
    slots: list[datetime]
    skipped: list[tuple[datetime, str]] = field(default_factory=list)  # (slot, finished run id)


@dataclass
class StepRun:
    name: str
    status: StepStatus
    upstream: tuple[str, ...] = ()
    attempts: int = 0
    cache_key: str | None = None
    cached: bool = False
    output: StepOutput | None = None
    logs_digest: str | None = None
    error: str | None = None
    user_traceback: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


@dataclass
class PipelineRun:
    id: str
    project: str
    pipeline: str
    trigger: Trigger
    executor: str
    params: dict[str, Any]
    status: RunStatus
    user: str
    started_at: datetime
    ended_at: datetime | None = None
    error: str | None = None
    scheduled_for: datetime | None = None
    dataset: str | None = None  # the version whose publication started it ("loans@7")
    steps: list[StepRun] = field(default_factory=list)

    @property
    def duration(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    @property
    def failed_steps(self) -> list[StepRun]:
        return [s for s in self.steps if s.status is StepStatus.FAILED]

    def raise_for_status(self) -> PipelineRun:
        """Raise UserCodeError, carrying the first failed step's traceback, if the run failed."""
        if self.status is not RunStatus.FAILED:
            return self
        failed = self.failed_steps
        first = failed[0] if failed else None
        raise UserCodeError(
            f"pipeline {self.pipeline!r} run {self.id} failed: {self.error}",
            user_traceback=(first.user_traceback or "") if first else "",
            run_id=self.id,
            failed_steps=[s.name for s in failed],
        )

    def step(self, name: str) -> StepRun:
        for s in self.steps:
            if s.name == name:
                return s
        names = ", ".join(s.name for s in self.steps)
        raise InvalidInput(f"pipeline run {self.id} has no step {name!r}; its steps: {names}")
