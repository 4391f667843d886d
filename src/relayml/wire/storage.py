"""Stored bytes on the wire: what a garbage-collection sweep found (and removed)."""

from __future__ import annotations

from relayml import wire
from relayml.domain.storage import GcReport
from relayml.wire.common import WireModel


class LeftoverOut(WireModel):
    kind: str
    name: str
    size: int
    age_seconds: float


class GcReportOut(WireModel):
    applied: bool
    grace_seconds: float
    bytes: int
    leftovers: list[LeftoverOut]

    @classmethod
    def from_domain(cls, obj: GcReport) -> GcReportOut:
        return cls.model_validate(wire.gc_out(obj))

    def to_domain(self) -> GcReport:
        return wire.gc_in(self.model_dump())
