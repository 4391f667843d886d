"""Tracking on the wire: experiments, runs, run pages, metric histories and artifacts."""

from __future__ import annotations

from pydantic import Field

from relayml import wire
from relayml.domain.tracking import ArtifactInfo, Experiment, MetricPoint, RunPage, RunRecord
from relayml.wire.common import Number, Time, WireModel


class ExperimentOut(WireModel):
    project: str
    name: str
    created_at: Time
    created_by: str
    run_count: int = 0

    @classmethod
    def from_domain(cls, obj: Experiment) -> ExperimentOut:
        return cls.model_validate(wire.experiment_out(obj))

    def to_domain(self) -> Experiment:
        return wire.experiment_in(self.model_dump())


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
        return cls.model_validate(obj.to_dict())

    def to_domain(self) -> RunRecord:
        return RunRecord.from_dict(self.model_dump())


class RunPageOut(WireModel):
    runs: list[RunOut]
    next_page_token: str | None = None

    @classmethod
    def from_domain(cls, obj: RunPage) -> RunPageOut:
        return cls.model_validate(wire.run_page_out(obj))

    def to_domain(self) -> RunPage:
        return wire.run_page_in(self.model_dump())


class WrittenOut(WireModel):
    written: int


MetricRowOut = tuple[str, Number, int, int]
"""One point: `[key, value, step, timestamp_ms]`."""


class MetricHistoryOut(WireModel):
    key: str
    points: list[MetricRowOut]

    @classmethod
    def from_domain(cls, key: str, points: list[MetricPoint]) -> MetricHistoryOut:
        return cls.model_validate({"key": key, "points": wire.points_out(points)})

    def to_domain(self) -> list[MetricPoint]:
        return wire.points_in([list(p) for p in self.points])


class ArtifactOut(WireModel):
    path: str
    digest: str
    size: int

    @classmethod
    def from_domain(cls, obj: ArtifactInfo) -> ArtifactOut:
        return cls.model_validate(wire.artifact_out(obj))

    def to_domain(self) -> ArtifactInfo:
        return wire.artifact_in(self.model_dump())
