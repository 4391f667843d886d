"""Datasets on the wire: uploads, versions, listings, sketches and lineage."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from relayml.domain.datasets import (
    DatasetInfo,
    DatasetStatus,
    DatasetVersion,
    LineageNode,
    RunUse,
    TrustedCheck,
)
from relayml.wire.common import (
    Time,
    WireModel,
    maybe_time_in,
    maybe_time_out,
    time_in,
    time_out,
)


class UploadOut(WireModel):
    blob: str
    size: int


class DatasetVersionOut(WireModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    project: str
    name: str
    version: int
    ref: str
    digest: str
    blob: str
    size: int
    rows: int
    schema_: list[dict[str, Any]] = Field(alias="schema")
    profile: dict[str, Any]
    sketch_blob: str | None
    quality: dict[str, Any] | None
    contract: str | None
    contract_digest: str | None
    status: str
    description: str
    source: str
    parents: list[str]
    producer: dict[str, str] | None
    created_at: Time
    created_by: str
    released_at: Time | None = None
    released_by: str | None = None
    release_reason: str | None = None
    quarantined_at: Time | None = None
    quarantined_by: str | None = None
    quarantine_reason: str | None = None
    deprecated_at: Time | None = None
    deprecated_by: str | None = None
    deprecation_reason: str | None = None

    @classmethod
    def from_domain(cls, obj: DatasetVersion) -> DatasetVersionOut:
        return cls(
            project=obj.project,
            name=obj.name,
            version=obj.version,
            ref=obj.ref,
            digest=obj.digest,
            blob=obj.blob,
            size=obj.size,
            rows=obj.rows,
            schema_=obj.schema,
            profile=obj.profile,
            sketch_blob=obj.sketch_blob,
            quality=obj.quality,
            contract=obj.contract,
            contract_digest=obj.contract_digest,
            status=obj.status.value,
            description=obj.description,
            source=obj.source,
            parents=list(obj.parents),
            producer=obj.producer,
            created_at=time_out(obj.created_at),
            created_by=obj.created_by,
            released_at=maybe_time_out(obj.released_at),
            released_by=obj.released_by,
            release_reason=obj.release_reason,
            quarantined_at=maybe_time_out(obj.quarantined_at),
            quarantined_by=obj.quarantined_by,
            quarantine_reason=obj.quarantine_reason,
            deprecated_at=maybe_time_out(obj.deprecated_at),
            deprecated_by=obj.deprecated_by,
            deprecation_reason=obj.deprecation_reason,
        )

    def to_domain(self) -> DatasetVersion:
        return DatasetVersion(
            project=self.project,
            name=self.name,
            version=self.version,
            digest=self.digest,
            blob=self.blob,
            size=self.size,
            rows=self.rows,
            schema=list(self.schema_),
            profile=dict(self.profile),
            sketch_blob=self.sketch_blob,
            quality=self.quality,
            contract=self.contract,
            contract_digest=self.contract_digest,
            status=DatasetStatus(self.status),
            description=self.description,
            source=self.source,
            parents=list(self.parents),
            producer=self.producer,
            created_at=time_in(self.created_at),
            created_by=self.created_by,
            released_at=maybe_time_in(self.released_at),
            released_by=self.released_by,
            release_reason=self.release_reason,
            quarantined_at=maybe_time_in(self.quarantined_at),
            quarantined_by=self.quarantined_by,
            quarantine_reason=self.quarantine_reason,
            deprecated_at=maybe_time_in(self.deprecated_at),
            deprecated_by=self.deprecated_by,
            deprecation_reason=self.deprecation_reason,
        )


class DatasetInfoOut(WireModel):
    project: str
    name: str
    description: str = ""
    created_at: Time
    created_by: str
    versions: int
    latest: int | None = None

    @classmethod
    def from_domain(cls, obj: DatasetInfo) -> DatasetInfoOut:
        return cls(
            project=obj.project,
            name=obj.name,
            description=obj.description,
            created_at=time_out(obj.created_at),
            created_by=obj.created_by,
            versions=obj.versions,
            latest=obj.latest,
        )

    def to_domain(self) -> DatasetInfo:
        return DatasetInfo(
            project=self.project,
            name=self.name,
            description=self.description,
            created_at=time_in(self.created_at),
            created_by=self.created_by,
            versions=self.versions,
            latest=self.latest,
        )


class RunUseOut(WireModel):
    run_id: str
    run_name: str
    experiment: str
    user: str
    used_at: Time

    @classmethod
    def from_domain(cls, obj: RunUse) -> RunUseOut:
        return cls(
            run_id=obj.run_id,
            run_name=obj.run_name,
            experiment=obj.experiment,
            user=obj.user,
            used_at=time_out(obj.used_at),
        )

    def to_domain(self) -> RunUse:
        return RunUse(self.run_id, self.run_name, self.experiment, self.user, time_in(self.used_at))


class LineageOut(WireModel):
    ref: str
    status: str
    source: str = ""
    producer: dict[str, str] | None = None
    parents: list[LineageOut] = []
    children: list[LineageOut] = []
    runs: list[RunUseOut] = []

    @classmethod
    def from_domain(cls, obj: LineageNode) -> LineageOut:
        return cls(
            ref=obj.ref,
            status=obj.status.value,
            source=obj.source,
            producer=obj.producer,
            parents=[cls.from_domain(p) for p in obj.parents],
            children=[cls.from_domain(c) for c in obj.children],
            runs=[RunUseOut.from_domain(r) for r in obj.runs],
        )

    def to_domain(self) -> LineageNode:
        return LineageNode(
            ref=self.ref,
            status=DatasetStatus(self.status),
            source=self.source,
            producer=self.producer,
            parents=[p.to_domain() for p in self.parents],
            children=[c.to_domain() for c in self.children],
            runs=[r.to_domain() for r in self.runs],
        )


class TrustedCheckOut(WireModel):
    project: str
    ref: str
    reason: str
    added_by: str
    added_at: Time
    installed: bool = True

    @classmethod
    def from_domain(cls, obj: TrustedCheck) -> TrustedCheckOut:
        return cls(
            project=obj.project,
            ref=obj.ref,
            reason=obj.reason,
            added_by=obj.added_by,
            added_at=time_out(obj.added_at),
            installed=obj.installed,
        )

    def to_domain(self) -> TrustedCheck:
        return TrustedCheck(
            project=self.project,
            ref=self.ref,
            reason=self.reason,
            added_by=self.added_by,
            added_at=time_in(self.added_at),
            installed=self.installed,
        )
