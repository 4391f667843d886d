"""Datasets on the wire: uploads, versions, listings, sketches and lineage."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from relayml import wire
from relayml.domain.datasets import DatasetInfo, DatasetVersion, LineageNode
from relayml.wire.common import Time, WireModel


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

    @classmethod
    def from_domain(cls, obj: DatasetVersion) -> DatasetVersionOut:
        return cls.model_validate(obj.to_dict())

    def to_domain(self) -> DatasetVersion:
        return DatasetVersion.from_dict(self.model_dump(by_alias=True))


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
        return cls.model_validate(wire.dataset_info_out(obj))

    def to_domain(self) -> DatasetInfo:
        return wire.dataset_info_in(self.model_dump())


class RunUseOut(WireModel):
    run_id: str
    run_name: str
    experiment: str
    user: str
    used_at: Time


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
        return cls.model_validate(obj.to_dict())

    def to_domain(self) -> LineageNode:
        return LineageNode.from_dict(self.model_dump())
