"""Mergeable summaries of one side of a comparison, on fixed bins.

A reference is summarised once and compared against many current windows without re-reading it.

Numeric (and datetime) columns keep cumulative counts at *fine edges*: by default 2,048 quantiles
of the reference, always data values. Counts are cumulative "values <= edge", plus the count
strictly below the smallest edge, so the empirical CDF of either side is known *exactly at every
edge*. That makes the binned Kolmogorov-Smirnov statistic a lower bound of the exact one, with
``exact - binned <= max share of the reference strictly inside one bin`` (about 1/2,048 for
quantile edges; :meth:`NumericSketch.ks_error_bound`). Moments (n, mean, M2, min, max) merge
exactly (Chan et al.).

Categorical columns keep the count of every category (the top ``max_categories`` by count, the
rest lumped as ``other``), which merges exactly.

Two sketches merge when their edges are identical: summarise partitions with ``like=`` the first
partition's sketch (or the reference's) and add. Everything serialises to JSON-able dicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from relayml.stats.kinds import ColumnKind

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_FINE_BINS = 2048
DEFAULT_MAX_CATEGORIES = 10_000
SKETCH_FORMAT = 1
MIN_ID_ROWS = 50  # fewer rows than this are too few to call a unique column an id
ID_LIKE_NOTE = "id-like (unique on every row)"


@dataclass(frozen=True)
class NumericSketch:
    """Cumulative counts of one numeric column at fixed edges, plus its moments."""

    edges: FloatArray  # strictly increasing
    below: int  # values < edges[0]
    cum_counts: IntArray  # values <= edges[i]
    at_edges: IntArray  # values == edges[i] (so the CDF's left limit at each edge is known too)
    n: int  # non-missing values
    n_missing: int
    mean: float
    m2: float  # sum of squared deviations from the mean
    minimum: float
    maximum: float

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.n) if self.n > 0 else 0.0

    @property
    def missing_rate(self) -> float:
        total = self.n + self.n_missing
        return self.n_missing / total if total else 0.0

    def cdf_at_edges(self) -> FloatArray:
        """Empirical CDF at each edge (share of values <= edge)."""
        return self.cum_counts / max(self.n, 1)

    def cdf_before_edges(self) -> FloatArray:
        """Left limit of the empirical CDF at each edge (share of values < edge)."""
        return (self.cum_counts - self.at_edges) / max(self.n, 1)

    def ks_error_bound(self) -> float:
        """Largest share of this sample strictly inside one bin: binned KS is exact within it."""
        if self.n == 0:
            return 0.0
        inside = (self.cum_counts - self.at_edges)[1:] - self.cum_counts[:-1]
        return float(inside.max(initial=0) / self.n)

    def merge(self, other: NumericSketch) -> NumericSketch:
        if self.edges.shape != other.edges.shape or not np.array_equal(self.edges, other.edges):
            raise ValueError(
                "numeric sketches merge only on identical edges; summarise partitions with "
                "like=<first sketch> so they share bins"
            )
        n = self.n + other.n
        if n == 0:
            mean, m2 = 0.0, 0.0
        else:
            delta = other.mean - self.mean
            mean = self.mean + delta * other.n / n
            m2 = self.m2 + other.m2 + delta * delta * self.n * other.n / n
        return NumericSketch(
            edges=self.edges,
            below=self.below + other.below,
            cum_counts=self.cum_counts + other.cum_counts,
            at_edges=self.at_edges + other.at_edges,
            n=n,
            n_missing=self.n_missing + other.n_missing,
            mean=mean,
            m2=m2,
            minimum=min(self.minimum, other.minimum),
            maximum=max(self.maximum, other.maximum),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "numeric",
            "edges": self.edges.tolist(),
            "below": self.below,
            "cum_counts": self.cum_counts.tolist(),
            "at_edges": self.at_edges.tolist(),
            "n": self.n,
            "n_missing": self.n_missing,
            "mean": self.mean,
            "m2": self.m2,
            "min": _finite_or_none(self.minimum),
            "max": _finite_or_none(self.maximum),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NumericSketch:
        return cls(
            edges=np.asarray(d["edges"], dtype=np.float64),
            below=int(d["below"]),
            cum_counts=np.asarray(d["cum_counts"], dtype=np.int64),
            at_edges=np.asarray(d["at_edges"], dtype=np.int64),
            n=int(d["n"]),
            n_missing=int(d["n_missing"]),
            mean=float(d["mean"]),
            m2=float(d["m2"]),
            minimum=math.inf if d["min"] is None else float(d["min"]),
            maximum=-math.inf if d["max"] is None else float(d["max"]),
        )


@dataclass(frozen=True)
class CategoricalSketch:
    """Counts per category of one column (booleans too), plus the missing count."""

    counts: dict[str, int]
    n_missing: int
    other: int = 0  # values beyond max_categories, lumped together

    @property
    def n(self) -> int:
        return sum(self.counts.values()) + self.other

    @property
    def missing_rate(self) -> float:
        total = self.n + self.n_missing
        return self.n_missing / total if total else 0.0

    def singletons(self) -> int:
        """Categories seen exactly once: Good-Turing's estimate of the unseen mass is this / n."""
        return sum(1 for c in self.counts.values() if c == 1)

    def merge(self, other: CategoricalSketch) -> CategoricalSketch:
        counts = dict(self.counts)
        for key, count in other.counts.items():
            counts[key] = counts.get(key, 0) + count
        return CategoricalSketch(counts, self.n_missing + other.n_missing, self.other + other.other)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "categorical",
            "counts": dict(self.counts),
            "n_missing": self.n_missing,
            "other": self.other,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CategoricalSketch:
        counts = {str(k): int(v) for k, v in d["counts"].items()}
        return cls(counts, int(d["n_missing"]), int(d.get("other", 0)))


ColumnSketch = NumericSketch | CategoricalSketch


@dataclass(frozen=True)
class TableSketch:
    """Sketches of every column of one side, with each column's kind."""

    kinds: dict[str, ColumnKind]
    columns: dict[str, ColumnSketch]
    n_rows: int
    skipped: dict[str, str] = field(default_factory=dict)  # column -> why it has no sketch
    id_like: list[str] = field(default_factory=list)  # unique on every row: skipped by default

    def merge(self, other: TableSketch) -> TableSketch:
        if self.kinds != other.kinds:
            raise ValueError("table sketches merge only when they have the same columns and kinds")
        merged: dict[str, ColumnSketch] = {}
        for name, sk in self.columns.items():
            o = other.columns[name]
            if isinstance(sk, NumericSketch) and isinstance(o, NumericSketch):  # noqa: SIM114
                merged[name] = sk.merge(o)
            elif isinstance(sk, CategoricalSketch) and isinstance(o, CategoricalSketch):
                merged[name] = sk.merge(o)
            else:
                raise ValueError(f"column {name!r} has different sketch types")
        return TableSketch(dict(self.kinds), merged, self.n_rows + other.n_rows, dict(self.skipped))

    def id_like_columns(self) -> list[str]:
        """Columns unique on every row: recorded when summarised, else (older summaries) read
        from category counts that are all 1 on a column without missing values."""
        found = list(self.id_like)
        for name, sk in self.columns.items():
            if (
                name not in found
                and isinstance(sk, CategoricalSketch)
                and self.kinds.get(name) is ColumnKind.CATEGORICAL
                and self.n_rows >= MIN_ID_ROWS
                and sk.n_missing == 0
                and sk.other == 0
                and len(sk.counts) == self.n_rows
            ):
                found.append(name)
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SKETCH_FORMAT,
            "n_rows": self.n_rows,
            "kinds": {k: v.value for k, v in self.kinds.items()},
            "columns": {k: v.to_dict() for k, v in self.columns.items()},
            "skipped": dict(self.skipped),
            "id_like": list(self.id_like),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TableSketch:
        if d.get("format") != SKETCH_FORMAT:
            raise ValueError(f"unknown sketch format {d.get('format')!r}; expected {SKETCH_FORMAT}")
        columns: dict[str, ColumnSketch] = {}
        for name, cd in d["columns"].items():
            if cd["type"] == "numeric":
                columns[name] = NumericSketch.from_dict(cd)
            else:
                columns[name] = CategoricalSketch.from_dict(cd)
        return cls(
            kinds={k: ColumnKind(v) for k, v in d["kinds"].items()},
            columns=columns,
            n_rows=int(d["n_rows"]),
            skipped=dict(d.get("skipped", {})),
            id_like=list(d.get("id_like", [])),
        )


def quantile_edges(sorted_values: FloatArray, bins: int = DEFAULT_FINE_BINS) -> FloatArray:
    """``bins + 1`` quantiles of already-sorted values, deduplicated; each edge is a data value."""
    n = sorted_values.size
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    idx = (np.arange(bins + 1, dtype=np.int64) * (n - 1)) // bins
    return np.unique(sorted_values[idx])


def numeric_sketch(
    values: FloatArray,
    n_missing: int,
    edges: FloatArray | None = None,
    bins: int = DEFAULT_FINE_BINS,
) -> NumericSketch:
    """Summarise finite values; edges default to ``bins`` quantiles of the values themselves."""
    x = np.sort(values)
    if edges is None:
        edges = quantile_edges(x, bins)
    n = int(x.size)
    below = int(np.searchsorted(x, edges[0], side="left")) if edges.size else n
    cum = np.searchsorted(x, edges, side="right").astype(np.int64)
    at = cum - np.searchsorted(x, edges, side="left").astype(np.int64)
    if n:
        mean = float(x.mean())
        m2 = float(np.square(x - mean).sum())
        lo, hi = float(x[0]), float(x[-1])
    else:
        mean, m2, lo, hi = 0.0, 0.0, math.inf, -math.inf
    return NumericSketch(edges, below, cum, at, n, n_missing, mean, m2, lo, hi)


def categorical_sketch(
    counts: dict[str, int], n_missing: int, max_categories: int = DEFAULT_MAX_CATEGORIES
) -> CategoricalSketch:
    if len(counts) <= max_categories:
        return CategoricalSketch(dict(counts), n_missing)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ranked[:max_categories])
    other = sum(c for _, c in ranked[max_categories:])
    return CategoricalSketch(kept, n_missing, other)


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None
