"""Column profiles of a dataset version, built from a stream of record batches.

Two streaming passes, each holding one batch plus fixed-size state per column:

1. ``update``: counts, missing values, category counts, a uniform sample of each numeric column
   (bottom-k by random priority, ``SAMPLE`` values) and a KMV sketch for distinct counts.
2. ``update_bins``: on edges chosen from the sample (plus the exact min and max), the drift
   sketch (``relayml.stats.sketch.NumericSketch``: exact moments, exact counts at the edges)
   and an equal-width histogram.

Accuracy, documented in docs/data-engineer.md:

- count, missing, min, max, mean, std, histogram counts: exact.
- distinct: exact up to ``KMV_K`` distinct values; beyond, the KMV estimate
  ``(k - 1) / h_k`` (``h_k`` the k-th smallest 64-bit hash as a fraction of 2**64) with a relative
  standard error of about ``1 / sqrt(k - 2)`` = 1.6 % for k = 4096.
- quantiles: exact when the column has at most ``SAMPLE`` values, otherwise those of a uniform
  sample of ``SAMPLE`` values (rank error about ``sqrt(p (1 - p) / SAMPLE)``, < 0.4 %).
- top categories: exact while a column has at most ``MAX_CATEGORIES`` categories; beyond, the
  rarest are folded into ``other`` batch by batch, so top counts are lower bounds.

Missing means null, and for floating-point columns also NaN and +/-inf (as in drift).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from relayml.stats.kinds import (
    ColumnKind,
    category_counts,
    infer_kind,
    is_id_type,
    numeric_values,
)
from relayml.stats.sketch import (
    DEFAULT_FINE_BINS,
    MIN_ID_ROWS,
    CategoricalSketch,
    ColumnSketch,
    NumericSketch,
    TableSketch,
    categorical_sketch,
    numeric_sketch,
    quantile_edges,
)

SAMPLE = 16_384
KMV_K = 4096
MAX_CATEGORIES = 10_000
HIST_BINS = 20
TOP = 10
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
DISTINCT_RSE = 1 / math.sqrt(KMV_K - 2)

U64 = npt.NDArray[np.uint64]


def _mix64(x: U64) -> U64:
    """splitmix64's finaliser: a good 64-bit hash of 64-bit keys, vectorised."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


class Kmv:
    """K minimum values of 64-bit hashes: distinct counts, mergeable, in fixed memory."""

    def __init__(self, k: int = KMV_K) -> None:
        self.k = k
        self.values: U64 = np.zeros(0, dtype=np.uint64)

    def add(self, hashes: U64) -> None:
        if self.values.size >= self.k:  # only hashes below the k-th smallest can enter
            hashes = hashes[hashes < self.values[-1]]
        if not hashes.size:
            return
        merged = np.sort(np.concatenate((self.values, hashes)))
        keep = np.ones(merged.size, dtype=bool)
        keep[1:] = merged[1:] != merged[:-1]
        self.values = merged[keep][: self.k]

    def estimate(self) -> tuple[int, bool]:
        """(distinct count, whether it is an estimate)."""
        if self.values.size < self.k:
            return int(self.values.size), False
        frac = float(self.values[self.k - 1]) / 2.0**64
        return round((self.k - 1) / frac), True


_POLY = np.uint64(0x100000001B3)  # an odd multiplier (FNV-1a's 64-bit prime)


def _hash_strings(keys: list[str]) -> U64:
    """A 64-bit hash of each string, vectorised over its UTF-8 bytes: the polynomial
    ``sum(byte_i * P**(n-1-i)) mod 2**64`` mixed with the length by ``_mix64``. NumPy only
    (pandas' hash_array cost a 0.3 s import on every publish)."""
    n = len(keys)
    if not n:
        return np.zeros(0, dtype=np.uint64)
    encoded = [k.encode("utf-8", "surrogatepass") for k in keys]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    h = np.zeros(n, dtype=np.uint64)
    total = int(ends[-1])
    if total:
        data = np.frombuffer(b"".join(encoded), dtype=np.uint8).astype(np.uint64)
        owner = np.repeat(np.arange(n), lengths)
        from_end = ends[owner] - 1 - np.arange(total)  # 0 for each string's last byte
        with np.errstate(over="ignore"):
            powers = np.cumprod(np.full(int(lengths.max()), _POLY, dtype=np.uint64))
            powers = np.concatenate((np.ones(1, dtype=np.uint64), powers[:-1]))
            nonempty = lengths > 0
            h[nonempty] = np.add.reduceat(data * powers[from_end], starts[nonempty])
    return _mix64(h ^ _mix64(lengths.astype(np.uint64)))


class _Column:
    def __init__(self, name: str, arrow_type: Any, rng: np.random.Generator) -> None:
        self.name = name
        self.type = arrow_type
        self.kind = infer_kind(arrow_type)
        self.rng = rng
        self.count = 0
        self.missing = 0
        self.kmv = Kmv()
        self.counts: dict[str, int] = {}
        self.other = 0
        self.sample: npt.NDArray[np.float64] = np.zeros(0)
        self.priority: npt.NDArray[np.float64] = np.zeros(0)
        self.lo, self.hi = math.inf, -math.inf
        self.sketch: NumericSketch | None = None
        self.edges: npt.NDArray[np.float64] | None = None
        self.hist: npt.NDArray[np.int64] = np.zeros(HIST_BINS, dtype=np.int64)

    def update(self, col: Any) -> None:
        if self.kind is None:
            self.missing += col.null_count
            self.count += len(col) - col.null_count
            return
        if self.kind.is_ordered:
            values, n_missing = numeric_values(col)
            self.missing += n_missing
            self.count += values.size
            if not values.size:
                return
            self.lo = min(self.lo, float(values.min()))
            self.hi = max(self.hi, float(values.max()))
            self.kmv.add(_mix64((values + 0.0).view(np.uint64)))  # -0.0 hashes as 0.0
            self._sample(values)
        else:
            counts, n_missing = category_counts(col)
            self.missing += n_missing
            self.count += len(col) - n_missing
            self.kmv.add(_hash_strings(list(counts)))
            for key, c in counts.items():
                self.counts[key] = self.counts.get(key, 0) + c
            if len(self.counts) > MAX_CATEGORIES:
                ranked = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
                self.counts = dict(ranked[:MAX_CATEGORIES])
                self.other += sum(c for _, c in ranked[MAX_CATEGORIES:])

    def _sample(self, values: npt.NDArray[np.float64]) -> None:
        prio = self.rng.random(values.size)
        sample = np.concatenate((self.sample, values))
        priority = np.concatenate((self.priority, prio))
        if sample.size > SAMPLE:
            keep = np.argpartition(priority, SAMPLE)[:SAMPLE]
            sample, priority = sample[keep], priority[keep]
        self.sample, self.priority = sample, priority

    def start_bins(self, bins: int) -> None:
        if self.kind is None or not self.kind.is_ordered:
            return
        if self.count == 0:
            self.edges = np.zeros(0)
        else:
            inner = quantile_edges(np.sort(self.sample), bins)
            self.edges = np.unique(np.concatenate(([self.lo], inner, [self.hi])))

    def update_bins(self, col: Any) -> None:
        if self.edges is None:
            return
        values, n_missing = numeric_values(col)
        part = numeric_sketch(values, n_missing, edges=self.edges)
        self.sketch = part if self.sketch is None else self.sketch.merge(part)
        if values.size and self.hi > self.lo:
            counts, _ = np.histogram(values, bins=HIST_BINS, range=(self.lo, self.hi))
            self.hist += counts
        elif values.size:
            self.hist[0] += values.size

    def column_sketch(self) -> ColumnSketch | None:
        if self.kind is None:
            return None
        if self.kind.is_ordered:
            if self.sketch is None:
                return numeric_sketch(np.zeros(0), self.missing, edges=np.zeros(0))
            return self.sketch
        sk = categorical_sketch(self.counts, self.missing)
        return CategoricalSketch(sk.counts, sk.n_missing, sk.other + self.other)

    def id_like(self, rows: int) -> bool:
        """Unique on every row (within the distinct estimate's error): an id, not a feature."""
        if not is_id_type(self.type) or self.missing or rows < MIN_ID_ROWS:
            return False
        distinct, approx = self.kmv.estimate()
        if self.kind is not None and not self.kind.is_ordered and not self.other:
            distinct, approx = len(self.counts), False
        if not approx:
            return distinct == rows
        return distinct >= rows * (1 - 3 * DISTINCT_RSE)

    def summary(self) -> dict[str, Any]:
        distinct, approx = self.kmv.estimate()
        if self.kind is not None and not self.kind.is_ordered and not self.other:
            distinct, approx = len(self.counts), False
        out: dict[str, Any] = {
            "type": str(self.type),
            "kind": self.kind.value if self.kind else None,
            "count": self.count,
            "missing": self.missing,
            "distinct": distinct if self.kind is not None else None,
            "distinct_approx": approx,
        }
        if self.kind is not None and self.kind.is_ordered and self.count:
            sk = self.sketch
            assert sk is not None
            out.update(
                min=self.lo,
                max=self.hi,
                mean=sk.mean,
                std=math.sqrt(sk.m2 / (sk.n - 1)) if sk.n > 1 else 0.0,
                quantiles={str(q): float(np.quantile(self.sample, q)) for q in QUANTILES},
                quantiles_approx=self.count > SAMPLE,
                histogram={
                    "edges": np.linspace(self.lo, self.hi, HIST_BINS + 1).tolist(),
                    "counts": self.hist.tolist(),
                },
            )
            if self.kind is ColumnKind.DATETIME:
                out.update(
                    min_text=_as_text(self.lo, self.type), max_text=_as_text(self.hi, self.type)
                )
        if self.kind is not None and not self.kind.is_ordered:
            ranked = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
            out["top"] = [[k, c] for k, c in ranked[:TOP]]
            out["top_approx"] = bool(self.other)
        return out


def _as_text(value: float, arrow_type: Any) -> str:
    try:
        date32 = pa.types.is_date32(arrow_type)
        raw = np.array([int(value)], dtype=np.int32 if date32 else np.int64)
        storage = pa.int32() if date32 else pa.int64()
        # from_buffers, not pa.scalar: pyarrow imports pandas to convert Python values
        one = pa.Array.from_buffers(storage, 1, [None, pa.py_buffer(raw.tobytes())])
        return str(one.cast(arrow_type)[0].as_py())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError, ValueError):
        return str(value)


class Profiler:
    """Feed every batch to ``update``, call ``start_bins``, feed them again to ``update_bins``."""

    def __init__(self, schema: pa.Schema, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.columns = {f.name: _Column(f.name, f.type, rng) for f in schema}
        self.rows = 0

    def update(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        for name, col in zip(batch.schema.names, batch.columns, strict=True):
            self.columns[name].update(pa.chunked_array([col]))

    def start_bins(self, bins: int = DEFAULT_FINE_BINS) -> None:
        for c in self.columns.values():
            c.start_bins(bins)

    @property
    def needs_bins(self) -> bool:
        return any(c.edges is not None for c in self.columns.values())

    def update_bins(self, batch: pa.RecordBatch) -> None:
        for name, col in zip(batch.schema.names, batch.columns, strict=True):
            self.columns[name].update_bins(pa.chunked_array([col]))

    def profile(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "distinct_rse": DISTINCT_RSE,
            "columns": {name: c.summary() for name, c in self.columns.items()},
        }

    def sketch(self) -> TableSketch:
        """The drift summary: what ``relay.drift.compare("name@N", current)`` compares with."""
        kinds: dict[str, ColumnKind] = {}
        columns: dict[str, ColumnSketch] = {}
        skipped: dict[str, str] = {}
        for name, c in self.columns.items():
            sk = c.column_sketch()
            if sk is None or c.kind is None:
                skipped[name] = f"type {c.type} has no drift test"
                continue
            kinds[name], columns[name] = c.kind, sk
        ids = [name for name, c in self.columns.items() if name in kinds and c.id_like(self.rows)]
        return TableSketch(kinds, columns, self.rows, skipped, ids)
