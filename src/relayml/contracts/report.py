"""The result of validating data against a contract: one `CheckResult` per check.

`QualityReport.passed` is False when any check of severity `error` failed; failed `warn` checks
are reported but do not fail it. The report is plain data (`to_dict`/`from_dict` round-trip
through JSON), so it can be stored with a dataset version.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome.

    `failing_count` counts failing rows (for `unique`, every row whose value occurs more than
    once); table-level checks (row count, freshness) report 0 rows and say why in `message`.
    `sample` holds up to 5 failing rows as dicts (`_row` is the row's position in the data);
    for uniqueness it holds duplicated values with their `_count`.
    """

    name: str
    kind: str
    column: str | None
    severity: str
    passed: bool
    failing_count: int
    failing_fraction: float
    sample: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckResult:
        return cls(
            name=str(d["name"]),
            kind=str(d["kind"]),
            column=d.get("column"),
            severity=str(d.get("severity", "error")),
            passed=bool(d["passed"]),
            failing_count=int(d.get("failing_count", 0)),
            failing_fraction=float(d.get("failing_fraction", 0.0)),
            sample=list(d.get("sample") or []),
            message=str(d.get("message", "")),
        )


@dataclass(frozen=True)
class QualityReport:
    """All check results for `rows` rows validated against the contract with `contract_digest`."""

    rows: int
    checks: list[CheckResult]
    contract_digest: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not any(c.severity == "error" and not c.passed for c in self.checks)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    @property
    def errors(self) -> list[CheckResult]:
        return [c for c in self.failed if c.severity == "error"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.failed if c.severity == "warn"]

    def __getitem__(self, name: str) -> CheckResult:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check named {name!r}; checks: {', '.join(self.names())}")

    def names(self) -> list[str]:
        return [c.name for c in self.checks]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "rows": self.rows,
            "contract_digest": self.contract_digest,
            "seconds": self.seconds,
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QualityReport:
        return cls(
            rows=int(d["rows"]),
            checks=[CheckResult.from_dict(c) for c in d.get("checks", [])],
            contract_digest=str(d.get("contract_digest", "")),
            seconds=float(d.get("seconds", 0.0)),
        )

    def summary(self) -> str:
        """One line: the verdict, rows, and the failed checks with their counts."""
        verdict = "PASSED" if self.passed else "FAILED"
        head = f"{verdict}: {self.rows:,} rows, {len(self.checks)} checks"
        errors, warnings = self.errors, self.warnings
        if not errors and not warnings:
            return f"{head}, all passed"
        parts = [f"{len(errors)} error(s)", f"{len(warnings)} warning(s)"]
        detail = "; ".join(
            f"{c.name} ({c.severity}): {c.message or f'{c.failing_count:,} rows'}"
            for c in [*errors, *warnings]
        )
        return f"{head}, {', '.join(parts)} — {detail}"
