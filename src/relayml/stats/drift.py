"""compare(): two sketches in, a DriftReport out (per-column tests, effects and decisions).

The report is data; `relayml.reports` renders it."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relayml.domain.numbers import json_safe
from relayml.errors import InvalidInput
from relayml.stats.decision import Effect, Signal, Thresholds, adjust, explain
from relayml.stats.histograms import Histogram, categorical_histogram, numeric_histogram
from relayml.stats.kinds import ColumnKind
from relayml.stats.sketch import CategoricalSketch, NumericSketch, TableSketch
from relayml.stats.tests_categorical import compare_categorical
from relayml.stats.tests_missing import compare_missing
from relayml.stats.tests_numeric import DEFAULT_COARSE_BINS, compare_numeric

if TYPE_CHECKING:
    from relayml.stats.classifier import ClassifierResult


@dataclass
class ColumnDrift:
    """Everything about one column: kind, tests, statistics, decision and why."""

    name: str
    kind: ColumnKind
    drifted: bool
    reason: str
    n_reference: int
    n_current: int
    statistics: dict[str, float]
    pvalues: dict[str, float]
    signals: list[Signal]
    histogram: Histogram

    @property
    def pvalues_adjusted(self) -> dict[str, float]:
        return {s.test: s.pvalue_adjusted for s in self.signals}

    @property
    def effect_size(self) -> float:
        """The main effect after noise removal (numeric: Wasserstein in sd, categorical: TV)."""
        primary = self.signals[0] if self.signals else None
        return primary.effects[0].adjusted if primary and primary.effects else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind.value,
            "drifted": self.drifted,
            "reason": self.reason,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "statistics": self.statistics,
            "pvalues": self.pvalues,
            "pvalues_adjusted": self.pvalues_adjusted,
            "signals": [s.to_dict() for s in self.signals],
            "histogram": self.histogram.to_dict(),
        }


@dataclass
class DriftReport:
    """Result of comparing a reference with a current sample, column by column."""

    columns: dict[str, ColumnDrift]
    thresholds: Thresholds
    n_reference: int
    n_current: int
    skipped: dict[str, str] = field(default_factory=dict)
    classifier: ClassifierResult | None = None

    @property
    def drifted(self) -> list[str]:
        return [name for name, c in self.columns.items() if c.drifted]

    @property
    def any_drift(self) -> bool:
        return bool(self.drifted) or bool(self.classifier and self.classifier.drifted)

    def __getitem__(self, name: str) -> ColumnDrift:
        try:
            return self.columns[name]
        except KeyError:
            raise KeyError(
                f"no column {name!r} in this report; it has {list(self.columns)}"
            ) from None

    def __iter__(self) -> Iterator[ColumnDrift]:
        return iter(self.columns.values())

    def __len__(self) -> int:
        return len(self.columns)

    def summary(self) -> str:
        d = self.drifted
        head = f"{len(d)} of {len(self.columns)} columns drifted"
        return head + (f": {', '.join(d)}" if d else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "drifted": self.drifted,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "thresholds": self.thresholds.to_dict(),
            "columns": {k: v.to_dict() for k, v in self.columns.items()},
            "skipped": self.skipped,
            "classifier": self.classifier.to_dict() if self.classifier else None,
        }

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 2) -> str:
        """The report as JSON (NaN and infinities as "NaN", "Infinity", "-Infinity", as
        everywhere in Relay); also written to ``path``."""
        text = json.dumps(json_safe(self.to_dict()), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


def _numeric_column(
    name: str, kind: ColumnKind, ref: NumericSketch, cur: NumericSketch, t: Thresholds, coarse: int
) -> tuple[dict[str, float], dict[str, float], list[Signal], Histogram]:
    r = compare_numeric(ref, cur, coarse)
    psi_effect = Effect("psi", r.psi, r.psi_null, t.psi)
    stats = {
        "ks": r.ks_statistic,
        "ks_error_bound": r.ks_error_bound,
        "wasserstein": r.wasserstein,
        "wasserstein_norm": r.wasserstein_norm,
        "psi": r.psi,
        "js_distance": r.js_distance,
        "reference_mean": ref.mean,
        "current_mean": cur.mean,
        "reference_std": ref.std,
        "current_std": cur.std,
    }
    signals = [
        Signal(
            "distribution",
            "ks",
            r.ks_pvalue,
            [
                Effect(
                    "wasserstein_norm", r.wasserstein_norm, r.wasserstein_norm_null, t.wasserstein
                ),
                psi_effect,
            ],
        )
    ]
    return stats, {"ks": r.ks_pvalue}, signals, numeric_histogram(ref, cur)


def _categorical_column(
    ref: CategoricalSketch, cur: CategoricalSketch, t: Thresholds
) -> tuple[dict[str, float], dict[str, float], list[Signal], Histogram]:
    r = compare_categorical(ref, cur)
    stats = {
        "chi2": r.chi2_statistic,
        "chi2_dof": float(r.chi2_dof),
        "total_variation": r.total_variation,
        "psi": r.psi,
        "js_distance": r.js_distance,
        "unseen_share": r.unseen_share,
        "n_categories_reference": float(len(ref.counts)),
        "n_categories_current": float(len(cur.counts)),
        "n_unseen_categories": float(len(r.unseen_categories)),
    }
    signals = [
        Signal(
            "frequencies",
            "chi2",
            r.chi2_pvalue,
            [
                Effect(
                    "total_variation", r.total_variation, r.total_variation_null, t.total_variation
                ),
                Effect("psi", r.psi, r.psi_null, t.psi),
            ],
        )
    ]
    pvalues = {"chi2": r.chi2_pvalue}
    if r.unseen_tested and r.unseen_categories:
        signals.append(
            Signal(
                "unseen",
                "binomial",
                r.unseen_pvalue,
                [Effect("unseen_share", r.unseen_share, r.unseen_expected, t.unseen_share)],
                detail={"examples": r.unseen_categories[:5], "count": len(r.unseen_categories)},
            )
        )
        pvalues["unseen"] = r.unseen_pvalue
    return stats, pvalues, signals, categorical_histogram(ref, cur)


def compare_sketches(
    reference: TableSketch,
    current: TableSketch,
    *,
    thresholds: Thresholds | None = None,
    column_thresholds: Mapping[str, Thresholds] | None = None,
    coarse_bins: int = DEFAULT_COARSE_BINS,
) -> DriftReport:
    """Compare every column of ``current`` with the same column of ``reference``."""
    base = thresholds or Thresholds()
    per_column = dict(column_thresholds or {})
    unknown = [c for c in per_column if c not in current.columns]
    if unknown:
        raise InvalidInput(f"column_thresholds names column(s) {unknown} that are not compared")
    pending: list[
        tuple[
            str, ColumnKind, dict[str, float], dict[str, float], list[Signal], Histogram, int, int
        ]
    ] = []
    everything: list[Signal] = []
    for name, cur in current.columns.items():
        ref = reference.columns.get(name)
        kind = current.kinds[name]
        if ref is None:
            raise InvalidInput(f"column {name!r} is not in the reference summary")
        if reference.kinds[name] != kind and {reference.kinds[name], kind} != {
            ColumnKind.CATEGORICAL,
            ColumnKind.BOOLEAN,
        }:
            raise InvalidInput(
                f"column {name!r} is {reference.kinds[name].value} in the reference but "
                f"{kind.value} in the current data; cast one side or pass categorical=[{name!r}]"
            )
        t = per_column.get(name, base)
        if isinstance(ref, NumericSketch) and isinstance(cur, NumericSketch):
            stats, pvals, signals, hist = _numeric_column(name, kind, ref, cur, t, coarse_bins)
        elif isinstance(ref, CategoricalSketch) and isinstance(cur, CategoricalSketch):
            stats, pvals, signals, hist = _categorical_column(ref, cur, t)
        else:
            raise InvalidInput(f"column {name!r} has different kinds on the two sides")
        miss = compare_missing(
            ref.n_missing, ref.n + ref.n_missing, cur.n_missing, cur.n + cur.n_missing
        )
        stats["missing_rate_reference"] = miss.reference_rate
        stats["missing_rate_current"] = miss.current_rate
        if ref.n_missing or cur.n_missing:
            signals.append(
                Signal(
                    "missing",
                    "two_proportion_z",
                    miss.pvalue,
                    [
                        Effect(
                            "missing_rate_change",
                            abs(miss.change),
                            miss.change_null,
                            t.missing_rate,
                        )
                    ],
                    detail={
                        "reference_rate": miss.reference_rate,
                        "current_rate": miss.current_rate,
                    },
                )
            )
            pvals["missing"] = miss.pvalue
        if ref.n == 0 or cur.n == 0:
            signals = [s for s in signals if s.name == "missing"]
        everything.extend(signals)
        n_ref, n_cur = ref.n + ref.n_missing, cur.n + cur.n_missing
        pending.append((name, kind, stats, pvals, signals, hist, n_ref, n_cur))
    adjust(everything, base.alpha)
    columns: dict[str, ColumnDrift] = {}
    for name, kind, stats, pvals, signals, hist, n_ref, n_cur in pending:
        alpha = per_column.get(name, base).alpha
        for s in signals:
            s.alpha = alpha
        drifted, reason = explain(signals, alpha)
        columns[name] = ColumnDrift(
            name, kind, drifted, reason, n_ref, n_cur, stats, pvals, signals, hist
        )
    skipped = {**reference.skipped, **current.skipped}
    return DriftReport(columns, base, reference.n_rows, current.n_rows, skipped)
