"""Garbage collection of stored bytes: what a sweep found, and the default grace period."""

from __future__ import annotations

from dataclasses import dataclass, field

# Blobs and uploads younger than this are never collected: a publish or an upload in flight
# writes its bytes before the record that references them.
DEFAULT_GRACE = "24h"


@dataclass(frozen=True)
class Leftover:
    kind: str  # "blob" (stored, referenced by nothing) or "upload" (an unfinished upload)
    name: str  # the blob's sha256, or the upload's temporary name
    size: int
    age_seconds: float


@dataclass(frozen=True)
class GcReport:
    applied: bool  # False: a dry run, nothing was removed
    grace_seconds: float
    leftovers: list[Leftover] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(item.size for item in self.leftovers)
