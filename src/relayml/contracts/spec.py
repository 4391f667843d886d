"""The contract model: what a dataset must look like, as plain Python objects.

A `Contract` holds column specs (type, nullable, unique, min/max, allowed values, regex, custom
checks) and table checks (row count, freshness, key uniqueness, custom). Every check has a
severity, `error` (the default) or `warn`. `to_dict()` is the canonical form: the YAML file,
the digest and the stored copy are all made from it. Parsing YAML/dicts lives in `parse.py`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warn"]
SEVERITIES: tuple[str, ...] = ("error", "warn")

# The checks a column can carry, in the order they are reported.
COLUMN_CHECKS: tuple[str, ...] = ("type", "not_null", "unique", "range", "allowed", "regex")


@dataclass(frozen=True)
class CustomCheck:
    """A check written in Python: `fn(batch) -> mask` where True marks a valid row.

    `fn` receives each pyarrow RecordBatch and returns a boolean mask (pyarrow or NumPy array,
    or a list) of the batch's length; False and null mark failing rows. `ref` is the
    `module:function` the check was loaded from (YAML), or where `fn` lives.
    """

    name: str
    fn: Callable[[Any], Any] | None = None
    ref: str | None = None
    column: str | None = None
    severity: Severity = "error"

    def __post_init__(self) -> None:
        if self.fn is None and self.ref is None:
            raise ValueError(f"custom check {self.name!r} needs fn= (a callable) or ref=")

    @property
    def reference(self) -> str:
        if self.ref is not None:
            return self.ref
        fn = self.fn
        module = getattr(fn, "__module__", "?")
        return f"{module}:{getattr(fn, '__qualname__', repr(fn))}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "function": self.reference}
        if self.severity != "error":
            out["severity"] = self.severity
        return out

    def to_table_dict(self) -> dict[str, Any]:
        return _with_severity({"custom": self.reference, "name": self.name}, self.severity)


@dataclass(frozen=True)
class Column:
    """One column's spec. `None` means "not checked"; `nullable` defaults to True (as in SQL).

    `severity` applies to every check of the column; `severities` overrides it per check kind
    (`{"range": "warn"}`).
    """

    name: str
    type: str | None = None
    nullable: bool = True
    unique: bool = False
    min: float | int | str | None = None
    max: float | int | str | None = None
    allowed: tuple[Any, ...] | None = None
    regex: str | None = None
    custom: tuple[CustomCheck, ...] = ()
    severity: Severity = "error"
    severities: dict[str, Severity] = field(default_factory=dict)
    description: str | None = None

    def severity_of(self, kind: str) -> Severity:
        return self.severities.get(kind, self.severity)

    def kinds(self) -> list[str]:
        """The built-in checks this spec asks for (a type/presence check always)."""
        wanted = {
            "type": True,
            "not_null": not self.nullable,
            "unique": self.unique,
            "range": self.min is not None or self.max is not None,
            "allowed": self.allowed is not None,
            "regex": self.regex is not None,
        }
        return [k for k in COLUMN_CHECKS if wanted[k]]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}

        def put(key: str, kind: str, value: Any) -> None:
            sev = self.severities.get(kind)
            out[key] = value if sev is None else {"value": value, "severity": sev}

        if self.description:
            out["description"] = self.description
        if self.type is not None:
            put("type", "type", self.type)
        if not self.nullable:
            put("nullable", "not_null", False)
        if self.unique:
            put("unique", "unique", True)
        if self.min is not None or self.max is not None:
            if "range" in self.severities:
                rng = {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}
                out["range"] = {**rng, "severity": self.severities["range"]}
            else:
                if self.min is not None:
                    out["min"] = self.min
                if self.max is not None:
                    out["max"] = self.max
        if self.allowed is not None:
            put("allowed", "allowed", list(self.allowed))
        if self.regex is not None:
            put("regex", "regex", self.regex)
        if self.custom:
            out["custom"] = [c.to_dict() for c in self.custom]
        if self.severity != "error":
            out["severity"] = self.severity
        return out


@dataclass(frozen=True)
class RowCount:
    """The table has between `min` and `max` rows (either bound optional)."""

    min: int | None = None
    max: int | None = None
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        bounds = {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}
        return _with_severity({"row_count": bounds}, self.severity)


@dataclass(frozen=True)
class Freshness:
    """The newest value of timestamp `column` is at most `max_age` ("36h", "2d") old."""

    column: str
    max_age: str
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        body = {"column": self.column, "max_age": self.max_age}
        return _with_severity({"freshness": body}, self.severity)


@dataclass(frozen=True)
class UniqueKey:
    """No two rows share the same combination of `columns` (rows with a null key are skipped)."""

    columns: tuple[str, ...]
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        return _with_severity({"unique": list(self.columns)}, self.severity)


TableCheck = RowCount | Freshness | UniqueKey | CustomCheck


def _with_severity(body: dict[str, Any], severity: str) -> dict[str, Any]:
    return body if severity == "error" else {**body, "severity": severity}


@dataclass(frozen=True, init=False)
class Contract:
    """What a dataset must look like. Build it in Python or load it with `load_contract`."""

    columns: tuple[Column, ...]
    checks: tuple[TableCheck, ...]
    name: str | None
    description: str | None

    def __init__(
        self,
        columns: Iterable[Column] = (),
        checks: Iterable[TableCheck] = (),
        name: str | None = None,
        description: str | None = None,
    ) -> None:
        # Lists (or any iterable) from Python callers, kept as tuples: the value stays immutable.
        object.__setattr__(self, "columns", tuple(columns))
        object.__setattr__(self, "checks", tuple(checks))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "description", description)
        seen: set[str] = set()
        for col in self.columns:
            if col.name in seen:
                raise ValueError(f"column {col.name!r} is declared twice in the contract")
            seen.add(col.name)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The canonical form (what `to_yaml` writes and `digest` hashes)."""
        out: dict[str, Any] = {}
        if self.name:
            out["name"] = self.name
        if self.description:
            out["description"] = self.description
        out["columns"] = {c.name: c.to_dict() for c in self.columns}
        if self.checks:
            out["checks"] = [
                c.to_table_dict() if isinstance(c, CustomCheck) else c.to_dict()
                for c in self.checks
            ]
        return out

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=100)

    @property
    def digest(self) -> str:
        """sha256 of the canonical form: equal contracts have equal digests."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def has_code(self) -> bool:
        return any(isinstance(c, CustomCheck) for c in self.checks) or any(
            c.custom for c in self.columns
        )
