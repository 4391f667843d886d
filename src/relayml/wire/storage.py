"""Stored bytes on the wire: what a garbage-collection sweep found (and removed)."""

from __future__ import annotations

from relayml.domain.storage import GcReport, Leftover
from relayml.wire.common import WireModel


class LeftoverOut(WireModel):
    kind: str
    name: str
    size: int
    age_seconds: float

    @classmethod
    def from_domain(cls, obj: Leftover) -> LeftoverOut:
        return cls(kind=obj.kind, name=obj.name, size=obj.size, age_seconds=obj.age_seconds)

    def to_domain(self) -> Leftover:
        return Leftover(self.kind, self.name, self.size, self.age_seconds)


class GcReportOut(WireModel):
    applied: bool
    grace_seconds: float
    bytes: int
    leftovers: list[LeftoverOut]

    @classmethod
    def from_domain(cls, obj: GcReport) -> GcReportOut:
        return cls(
            applied=obj.applied,
            grace_seconds=obj.grace_seconds,
            bytes=obj.bytes,
            leftovers=[LeftoverOut.from_domain(i) for i in obj.leftovers],
        )

    def to_domain(self) -> GcReport:
        return GcReport(self.applied, self.grace_seconds, [i.to_domain() for i in self.leftovers])
