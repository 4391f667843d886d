"""Pipelines, their runs and step runs: entities and their rules (pure, no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from relayml.domain.enums import parse_enum
from relayml.domain.tracking import DEPRECATED_SUCCEEDED, RunStatus
from relayml.errors import InvalidInput, UserCodeError

_STEP = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")
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
    SCHEDULE = "schedule"


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "digest": self.digest,
            "value": self.value,
            "ref": self.ref,
            "format": self.format,
            "name": self.name,
            "size": self.size,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepOutput:
        kind = d.get("kind")
        if kind not in OUTPUT_KINDS or not isinstance(d.get("digest"), str):
            raise InvalidInput(
                f"invalid step output {d!r}: needs a kind ({', '.join(OUTPUT_KINDS)}) and a digest"
            )
        size = d.get("size") or 0
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size < 2**63:
            raise InvalidInput(f"invalid step output size {size!r:.40}: a byte count ≥ 0")
        texts = {k: d.get(k) for k in ("ref", "format", "name")}
        for key, text in texts.items():
            if text is not None and not isinstance(text, str):
                raise InvalidInput(f"invalid step output {key} {text!r:.40}: text or null")
        return cls(
            kind=str(kind),
            digest=str(d["digest"]),
            value=d.get("value"),
            ref=texts["ref"],
            format=texts["format"],
            name=texts["name"],
            size=size,
        )


@dataclass(frozen=True)
class StepSpec:
    """A node of a pipeline's graph: its name and the steps it reads from."""

    name: str
    upstream: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "upstream": list(self.upstream)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepSpec:
        return cls(check_step_name(d["name"]), tuple(d.get("upstream") or ()))


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


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


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
    schedule_since: datetime | None = None  # when the current schedule was set

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "name": self.name,
            "module": self.module,
            "schedule": self.schedule,
            "params": dict(self.params),
            "steps": [s.to_dict() for s in self.steps],
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "updated_at": self.updated_at.isoformat(),
            "last_scheduled": _iso(self.last_scheduled),
            "schedule_since": _iso(self.schedule_since),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PipelineInfo:
        return cls(
            project=d["project"],
            name=d["name"],
            module=d["module"],
            schedule=d.get("schedule"),
            params=dict(d.get("params") or {}),
            steps=[StepSpec.from_dict(s) for s in d.get("steps") or []],
            created_at=datetime.fromisoformat(d["created_at"]),
            created_by=d["created_by"],
            updated_at=datetime.fromisoformat(d["updated_at"]),
            last_scheduled=_t(d.get("last_scheduled")),
            schedule_since=_t(d.get("schedule_since")),
        )


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "upstream": list(self.upstream),
            "attempts": self.attempts,
            "cache_key": self.cache_key,
            "cached": self.cached,
            "output": self.output.to_dict() if self.output else None,
            "logs_digest": self.logs_digest,
            "error": self.error,
            "user_traceback": self.user_traceback,
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "duration": self.duration,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepRun:
        return cls(
            name=d["name"],
            status=StepStatus(d["status"]),
            upstream=tuple(d.get("upstream") or ()),
            attempts=int(d.get("attempts") or 0),
            cache_key=d.get("cache_key"),
            cached=bool(d.get("cached")),
            output=StepOutput.from_dict(d["output"]) if d.get("output") else None,
            logs_digest=d.get("logs_digest"),
            error=d.get("error"),
            user_traceback=d.get("user_traceback"),
            started_at=_t(d.get("started_at")),
            ended_at=_t(d.get("ended_at")),
        )


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "project": self.project,
            "pipeline": self.pipeline,
            "trigger": self.trigger.value,
            "executor": self.executor,
            "params": dict(self.params),
            "status": self.status.value,
            "user": self.user,
            "started_at": self.started_at.isoformat(),
            "ended_at": _iso(self.ended_at),
            "error": self.error,
            "scheduled_for": _iso(self.scheduled_for),
            "duration": self.duration,
            "steps": [s.to_dict() for s in self.steps],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PipelineRun:
        return cls(
            id=d["id"],
            project=d["project"],
            pipeline=d["pipeline"],
            trigger=Trigger(d["trigger"]),
            executor=d["executor"],
            params=dict(d.get("params") or {}),
            status=RunStatus(d["status"]),
            user=d["user"],
            started_at=datetime.fromisoformat(d["started_at"]),
            ended_at=_t(d.get("ended_at")),
            error=d.get("error"),
            scheduled_for=_t(d.get("scheduled_for")),
            steps=[StepRun.from_dict(s) for s in d.get("steps") or []],
        )
