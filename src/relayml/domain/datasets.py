"""Versioned datasets: references, versions, their status, lineage, and the diff of two versions.

A version is addressed as ``name@N`` (``name`` and ``name@latest`` mean the newest version that
is not quarantined; ``domain/refs.py`` parses them). Versions are immutable; only a quarantined
version's status changes, once, when a data engineer releases it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from relayml.domain.text import check_text as _check_text

MAX_TEXT = 8000


class DatasetStatus(StrEnum):
    VALID = "valid"  # passed its contract's error checks, or has no contract
    QUARANTINED = "quarantined"  # failed an error check: kept, but refused to readers
    RELEASED = "released"  # was quarantined; a data engineer released it with a reason

    @property
    def usable(self) -> bool:
        return self is not DatasetStatus.QUARANTINED


def check_text(kind: str, value: str | None) -> str:
    return _check_text(f"dataset {kind}", value or "", MAX_TEXT)


@dataclass(frozen=True)
class DatasetInfo:
    project: str
    name: str
    description: str
    created_at: datetime
    created_by: str
    versions: int
    latest: int | None  # newest usable version


@dataclass
class DatasetVersion:
    """One immutable version of a dataset, with its profile, quality report and lineage."""

    project: str
    name: str
    version: int
    digest: str  # logical content digest (see docs/data-engineer.md)
    blob: str  # sha256 of the stored Parquet file in the artifact store
    size: int
    rows: int
    schema: list[dict[str, Any]]  # [{"name", "type", "nullable"}]
    profile: dict[str, Any]
    sketch_blob: str | None  # the drift sketch (JSON) in the artifact store
    quality: dict[str, Any] | None  # the contract's validation report
    contract: str | None  # the contract as YAML
    contract_digest: str | None
    status: DatasetStatus
    description: str
    source: str
    parents: list[str]
    producer: dict[str, str] | None  # {"pipeline_run": ..., "step": ...}
    created_at: datetime
    created_by: str
    released_at: datetime | None = None
    released_by: str | None = None
    release_reason: str | None = None
    # put back into quarantine by a person (after a release, or when a problem its contract
    # did not catch is found); None while quarantined by its contract at publish
    quarantined_at: datetime | None = None
    quarantined_by: str | None = None
    quarantine_reason: str | None = None
    # deprecated: still readable (readers are warned), but new uses are refused and a bare
    # name no longer resolves to it
    deprecated_at: datetime | None = None
    deprecated_by: str | None = None
    deprecation_reason: str | None = None

    @property
    def deprecated(self) -> bool:
        return self.deprecated_at is not None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def failed_checks(self) -> list[str]:
        checks = (self.quality or {}).get("checks") or []
        return [
            str(c.get("name"))
            for c in checks
            if not c.get("passed", True) and c.get("severity", "error") == "error"
        ]


@dataclass(frozen=True)
class TrustedCheck:
    """A custom check (`module:function`) a project's published contracts may run: installed
    on the server and trusted in the project by an admin."""

    project: str
    ref: str
    reason: str
    added_by: str
    added_at: datetime
    installed: bool = True  # False: trusted here, but no longer installed on this server


@dataclass(frozen=True)
class RunUse:
    """A run that used a dataset version."""

    run_id: str
    run_name: str
    experiment: str
    user: str
    used_at: datetime


@dataclass
class LineageNode:
    """A version in the lineage graph: upstream nodes carry parents, downstream nodes children."""

    ref: str
    status: DatasetStatus
    source: str = ""
    producer: dict[str, str] | None = None
    parents: list[LineageNode] = field(default_factory=list)
    children: list[LineageNode] = field(default_factory=list)
    runs: list[RunUse] = field(default_factory=list)


# --- diff ---------------------------------------------------------------------------------

_STATS = ("count", "missing", "distinct", "min", "max", "mean", "std")


@dataclass(frozen=True)
class StatChange:
    column: str
    stat: str
    before: Any
    after: Any


@dataclass
class DatasetDiff:
    """Schema and profile differences from version ``a`` to version ``b``."""

    a: str
    b: str
    rows: tuple[int, int]
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    retyped: list[tuple[str, str, str]] = field(default_factory=list)  # (column, before, after)
    changed: list[StatChange] = field(default_factory=list)

    @property
    def same_schema(self) -> bool:
        return not (self.added or self.removed or self.retyped)


def diff_versions(a: DatasetVersion, b: DatasetVersion, tolerance: float = 1e-9) -> DatasetDiff:
    """What changed from ``a`` to ``b``: columns added, removed or retyped, and per shared column
    the profile statistics (count, missing, distinct, min, max, mean, std) that differ by more
    than ``tolerance`` (relative)."""
    types_a = {c["name"]: c["type"] for c in a.schema}
    types_b = {c["name"]: c["type"] for c in b.schema}
    out = DatasetDiff(a.ref, b.ref, (a.rows, b.rows))
    out.added = [c for c in types_b if c not in types_a]
    out.removed = [c for c in types_a if c not in types_b]
    out.retyped = [(c, types_a[c], types_b[c]) for c in types_a if c in types_b]
    out.retyped = [r for r in out.retyped if r[1] != r[2]]
    cols_a = a.profile.get("columns", {})
    cols_b = b.profile.get("columns", {})
    for name in types_a:
        if name not in types_b:
            continue
        pa_, pb = cols_a.get(name, {}), cols_b.get(name, {})
        for stat in _STATS:
            before, after = pa_.get(stat), pb.get(stat)
            if _differs(before, after, tolerance):
                out.changed.append(StatChange(name, stat, before, after))
    return out


def _differs(x: Any, y: Any, tolerance: float) -> bool:
    if isinstance(x, int | float) and isinstance(y, int | float):
        fx, fy = float(x), float(y)
        if math.isnan(fx) and math.isnan(fy):
            return False
        return abs(fx - fy) > tolerance * max(1.0, abs(fx), abs(fy))
    return bool(x != y)
