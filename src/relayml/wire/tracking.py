"""Tracking on the wire: experiments, runs, run pages, metric histories and artifacts."""

from __future__ import annotations

from pydantic import Field

from relayml.domain.numbers import decode_float, encode_float
from relayml.domain.tracking import (
    ArtifactInfo,
    Experiment,
    MetricPoint,
    RunPage,
    RunRecord,
    RunStatus,
)
from relayml.wire.common import (
    Number,
    Time,
    WireModel,
    maybe_time_in,
    maybe_time_out,
    time_in,
    time_out,
)


class ExperimentOut(WireModel):
    project: str
    name: str
    created_at: Time
    created_by: str
    run_count: int = 0

    @classmethod
    def from_domain(cls, obj: Experiment) -> ExperimentOut:
        return cls(
            project=obj.project,
            name=obj.name,
            created_at=time_out(obj.created_at),
            created_by=obj.created_by,
            run_count=obj.run_count,
        )

    def to_domain(self) -> Experiment:
        return Experiment(
            project=self.project,
            name=self.name,
            created_at=time_in(self.created_at),
            created_by=self.created_by,
            run_count=self.run_count,
        )


class RunOut(WireModel):
    id: str
    project: str
    experiment: str
    name: str
    status: str = Field(
        description="running, finished, failed or killed as stored; lost when a running run "
        "has sent no heartbeat for longer than the server's RELAY_RUN_LOST_AFTER"
    )
    user: str
    start_time: Time
    end_time: Time | None
    parent_id: str | None
    params: dict[str, str]
    metrics: dict[str, Number]
    tags: dict[str, str]
    last_heartbeat: Time | None = None

    @classmethod
    def from_domain(cls, obj: RunRecord) -> RunOut:
        return cls(
            id=obj.id,
            project=obj.project,
            experiment=obj.experiment,
            name=obj.name,
            status=obj.status.value,
            user=obj.user,
            start_time=time_out(obj.start_time),
            end_time=maybe_time_out(obj.end_time),
            parent_id=obj.parent_id,
            params=dict(obj.params),
            metrics={k: encode_float(v) for k, v in obj.metrics.items()},
            tags=dict(obj.tags),
            last_heartbeat=maybe_time_out(obj.last_heartbeat),
        )

    def to_domain(self) -> RunRecord:
        return RunRecord(
            id=self.id,
            project=self.project,
            experiment=self.experiment,
            name=self.name,
            status=RunStatus(self.status),
            user=self.user,
            start_time=time_in(self.start_time),
            end_time=maybe_time_in(self.end_time),
            parent_id=self.parent_id,
            params=dict(self.params),
            metrics={k: decode_float(v) for k, v in self.metrics.items()},
            tags=dict(self.tags),
            last_heartbeat=maybe_time_in(self.last_heartbeat),
        )


class RunPageOut(WireModel):
    runs: list[RunOut]
    next_page_token: str | None = None

    @classmethod
    def from_domain(cls, obj: RunPage) -> RunPageOut:
        return cls(
            runs=[RunOut.from_domain(r) for r in obj.runs], next_page_token=obj.next_page_token
        )

    def to_domain(self) -> RunPage:
        return RunPage([r.to_domain() for r in self.runs], self.next_page_token)


class WrittenOut(WireModel):
    written: int


MetricRowOut = tuple[str, Number, int, int]
"""One point: `[key, value, step, timestamp_ms]`."""


def metric_row(point: MetricPoint) -> MetricRowOut:
    """A point as the API writes it in a history and reads it in a batch (compact: a list)."""
    return (point.key, encode_float(point.value), point.step, point.timestamp)


class MetricHistoryOut(WireModel):
    key: str
    points: list[MetricRowOut]

    @classmethod
    def from_domain(cls, key: str, points: list[MetricPoint]) -> MetricHistoryOut:
        return cls(key=key, points=[metric_row(p) for p in points])

    def to_domain(self) -> list[MetricPoint]:
        return [MetricPoint(k, decode_float(v), s, t) for k, v, s, t in self.points]


class ArtifactOut(WireModel):
    path: str
    digest: str
    size: int

    @classmethod
    def from_domain(cls, obj: ArtifactInfo) -> ArtifactOut:
        return cls(path=obj.path, digest=obj.digest, size=obj.size)

    def to_domain(self) -> ArtifactInfo:
        return ArtifactInfo(path=self.path, digest=self.digest, size=self.size)
