"""Experiments, runs, params, metrics, artifacts: entities and their rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from relayml.domain.enums import parse_enum
from relayml.errors import InvalidInput

DEPRECATED_SUCCEEDED = "succeeded"
"""What pipeline runs and steps called success before they shared `finished`; still accepted
as input, never written (migration 0005 rewrote stored rows)."""
LOST_AFTER_SECONDS = 300.0
"""How long a running run may go without a heartbeat before it reads as `lost`, unless the
services are given another bound (RELAY_RUN_LOST_AFTER)."""
MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
_KEY = re.compile(r"^[A-Za-z0-9_.\-/ ]+\Z")


class RunStatus(StrEnum):
    """How a run stands: experiment runs and pipeline runs alike (one vocabulary).

    `LOST` is never stored: an experiment run stored as running reads as lost while its last
    heartbeat is older than the services' `run_lost_after` (its process died without ending
    it). It is not an end: a lost run that writes again reads as running, and its owner or an
    admin ends it with `relay runs end ID --status failed|killed|finished`.
    """

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    KILLED = "killed"
    LOST = "lost"

    @property
    def terminal(self) -> bool:
        """An end state: what a run ends as, and what no longer changes."""
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)

    @classmethod
    def _missing_(cls, value: object) -> RunStatus | None:
        return cls.FINISHED if value == DEPRECATED_SUCCEEDED else None


def parse_status(value: object) -> RunStatus:
    return parse_enum(RunStatus, "run status", value)


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or len(run_id) != 32 or not run_id.isalnum():
        raise InvalidInput(f"invalid run id {run_id!r}: a run id is 32 hex characters")
    return run_id


def check_key(kind: str, key: str) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY or not _KEY.match(key):
        raise InvalidInput(
            f"invalid {kind} key {key!r}: use 1-{MAX_KEY} letters, digits, "
            "'_', '-', '.', '/' or spaces"
        )
    if key.startswith("/") or ".." in key.split("/"):
        raise InvalidInput(f"invalid {kind} key {key!r}: no leading '/' and no '..' parts")
    return key


def param_value(key: str, value: Any) -> str:
    """Params are stored as strings, as the user would write them."""
    if isinstance(value, bool | int | float | str) or value is None:
        text = str(value)
    else:
        raise InvalidInput(
            f"param {key!r} has a {type(value).__name__} value; log a str, int, float or bool"
        )
    if len(text) > MAX_PARAM_VALUE:
        raise InvalidInput(f"param {key!r} is {len(text)} chars long; the limit is 6000")
    return text


def tag_value(key: str, value: Any) -> str:
    text = str(value)
    if len(text) > MAX_TAG_VALUE:
        raise InvalidInput(f"tag {key!r} is {len(text)} chars long; the limit is 8000")
    return text


def metric_value(key: str, value: Any) -> float:
    """A metric value as a float. Booleans are refused (True is not 1.0 to a reader), and so
    is an integer too large for a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            import numpy as np

            if isinstance(value, np.generic) and np.issubdtype(type(value), np.number):
                return float(value)
        except ImportError:  # pragma: no cover - numpy is a core dependency
            pass
        raise InvalidInput(f"metric {key!r} has a {type(value).__name__} value; log a number")
    try:
        return float(value)
    except OverflowError:
        raise InvalidInput(
            f"metric {key!r} has the value {value!r:.40}, too large for a float; log a float"
        ) from None


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def metric_step(key: str, step: Any) -> int:
    """A step is a 64-bit signed integer (what every database stores)."""
    if isinstance(step, bool) or not isinstance(step, int) or not INT64_MIN <= step <= INT64_MAX:
        raise InvalidInput(
            f"step of metric {key!r} must be an int between -2**63 and 2**63-1, got {step!r:.40}"
        )
    return step


def metric_timestamp(key: str, timestamp: Any) -> int:
    """Milliseconds since the epoch, 0 .. 2**63-1."""
    if (
        isinstance(timestamp, bool)
        or not isinstance(timestamp, int)
        or not 0 <= timestamp <= INT64_MAX
    ):
        raise InvalidInput(
            f"timestamp of metric {key!r} must be milliseconds since the epoch (an int from 0 "
            f"to 2**63-1), got {timestamp!r:.40}"
        )
    return timestamp


def check_point(point: MetricPoint) -> MetricPoint:
    """One metric point as the store can hold it, or a clear InvalidInput naming it."""
    check_key("metric", point.key)
    value = metric_value(point.key, point.value)
    metric_step(point.key, point.step)
    metric_timestamp(point.key, point.timestamp)
    return (
        point
        if value is point.value
        else MetricPoint(point.key, value, point.step, point.timestamp)
    )


@dataclass(frozen=True)
class MetricPoint:
    key: str
    value: float
    step: int
    timestamp: int  # milliseconds since the epoch


@dataclass(frozen=True)
class ArtifactInfo:
    path: str
    digest: str
    size: int


@dataclass(frozen=True)
class Experiment:
    project: str
    name: str
    created_at: datetime
    created_by: str
    run_count: int = 0


@dataclass
class RunRecord:
    """A run as stored: what `relay.get_run` and `search_runs` return the data of."""

    id: str
    project: str
    experiment: str
    name: str
    status: RunStatus
    user: str
    start_time: datetime
    end_time: datetime | None
    parent_id: str | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # When the run's process last wrote to it or sent a heartbeat (None: before migration 0012).
    last_heartbeat: datetime | None = None


@dataclass(frozen=True)
class RunPage:
    runs: list[RunRecord]
    next_page_token: str | None


@dataclass(frozen=True)
class RunLineage:
    """A run's lineage: the dataset versions it used and the model versions registered from
    it, as references (`loans@3`, `churn@2`)."""

    datasets: list[str]
    models: list[str]
