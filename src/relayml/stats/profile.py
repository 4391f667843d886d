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
- top categories: exact while a column has at most ``MAX_CATEGORIES`` categories; beyond, each
  batch keeps its ``MAX_CATEGORIES`` most frequent and the kept set is cut back to that many
  whenever it passes twice as many, the rest folded into ``other``: top counts are lower bounds.
  Only those kept categories ever become Python objects; every distinct value is hashed for
  the distinct count from the Arrow buffers, so a column of distinct strings costs its Arrow
  value counts.

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
    category_values,
    infer_kind,
    is_id_type,
    numeric_values,
    top_categories,
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


_POLY = 0x100000001B3  # an odd multiplier (FNV-1a's 64-bit prime), so invertible mod 2**64
_POLY_INV = pow(_POLY, -1, 1 << 64)
HASH_CHUNK_BYTES = 1 << 22
_powers: list[U64] = [np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64)]


def _power_tables(n: int) -> tuple[U64, U64]:
    """``P**k`` and ``P**-k`` (mod 2**64) for k < n, grown on demand and kept."""
    if _powers[0].size < n:
        size = max(n, 2 * _powers[0].size)
        with np.errstate(over="ignore"):
            for i, base in enumerate((_POLY, _POLY_INV)):
                table = np.empty(size, dtype=np.uint64)
                table[0] = 1
                np.cumprod(np.full(size - 1, base, dtype=np.uint64), out=table[1:])
                _powers[i] = table
    return _powers[0], _powers[1]


def _hash_values(values: Any) -> U64:
    """A 64-bit hash of each value of an Arrow array (as bytes, or as text for other types),
    vectorised over the bytes in its buffers: the polynomial ``sum(byte_j * P**(end-1-j)) mod
    2**64``, computed as ``P**(end-1) * (prefix sums of byte_j * P**-j)`` (P is odd, so it has an
    inverse mod 2**64), mixed with the length by ``_mix64``. NumPy only, and no Python string
    per value (pandas' hash_array needed both, and a 0.3 s import on every publish)."""
    n = len(values)
    if not n:
        return np.zeros(0, dtype=np.uint64)
    t = values.type
    width: Any
    if pa.types.is_string(t) or pa.types.is_binary(t):
        width = np.int32
    elif pa.types.is_large_string(t) or pa.types.is_large_binary(t):
        width = np.int64
    else:
        values, width = values.cast(pa.large_string()), np.int64
    _, off_buf, data_buf = values.buffers()
    offsets = np.frombuffer(off_buf, dtype=width, count=values.offset + n + 1)[values.offset :]
    offsets = offsets.astype(np.int64)
    data = np.frombuffer(data_buf, dtype=np.uint8, count=int(offsets[-1])) if data_buf else None
    lengths = np.diff(offsets)
    out = np.empty(n, dtype=np.uint64)
    first = 0
    while first < n:  # strings in chunks of about HASH_CHUNK_BYTES: bounded power tables
        last = int(np.searchsorted(offsets, offsets[first] + HASH_CHUNK_BYTES, side="right"))
        last = min(max(last - 1, first + 1), n)
        lo, hi = int(offsets[first]), int(offsets[last])
        ends = offsets[first + 1 : last + 1] - lo
        starts = offsets[first:last] - lo
        h = np.zeros(last - first, dtype=np.uint64)
        if hi > lo and data is not None:
            up, down = _power_tables(hi - lo + 1)
            with np.errstate(over="ignore"):
                prefix = np.zeros(hi - lo + 1, dtype=np.uint64)
                np.cumsum(data[lo:hi].astype(np.uint64) * down[: hi - lo], out=prefix[1:])
                h = (prefix[ends] - prefix[starts]) * up[np.maximum(ends - 1, 0)]
        out[first:last] = h
        first = last
    return _mix64(out ^ _mix64(lengths.astype(np.uint64)))


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
            values, value_counts, n_missing = category_values(col)
            self.missing += n_missing
            self.count += len(col) - n_missing
            self.kmv.add(_hash_values(values))
            counts, folded = top_categories(values, value_counts, MAX_CATEGORIES)
            self.other += folded
            for key, c in counts.items():
                self.counts[key] = self.counts.get(key, 0) + c
            if len(self.counts) > 2 * MAX_CATEGORIES:  # trim now and then, not every batch
                self._trim()

    def _trim(self) -> None:
        """Keep the ``MAX_CATEGORIES`` most frequent categories (ties: the smallest keys), fold
        the rest into ``other``. Counts are ranked in NumPy; only the categories tied at the
        cut are sorted by key."""
        if len(self.counts) <= MAX_CATEGORIES:
            return
        keys = list(self.counts)
        counts = np.fromiter(self.counts.values(), dtype=np.int64, count=len(keys))
        cut = np.partition(counts, counts.size - MAX_CATEGORIES)[counts.size - MAX_CATEGORIES]
        above = np.flatnonzero(counts > cut)
        tied = sorted(keys[i] for i in np.flatnonzero(counts == cut).tolist())
        kept = [keys[i] for i in above.tolist()] + tied[: MAX_CATEGORIES - above.size]
        total = int(counts.sum())
        self.counts = {k: self.counts[k] for k in kept}
        self.other += total - sum(self.counts.values())

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
        self._trim()
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
        self._trim()
        if not is_id_type(self.type) or self.missing or rows < MIN_ID_ROWS:
            return False
        distinct, approx = self.kmv.estimate()
        if self.kind is not None and not self.kind.is_ordered and not self.other:
            distinct, approx = len(self.counts), False
        if not approx:
            return distinct == rows
        return distinct >= rows * (1 - 3 * DISTINCT_RSE)

    def summary(self) -> dict[str, Any]:
        self._trim()
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

    @property
    def bin_columns(self) -> list[str]:
        """The columns ``update_bins`` uses (numbers and datetimes): pass two reads only them."""
        return [name for name, c in self.columns.items() if c.edges is not None]

    def update_bins(self, batch: pa.RecordBatch) -> None:
        """Feed a batch of every column, or of ``bin_columns`` only."""
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
