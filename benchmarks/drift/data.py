"""Benchmark data: 20 columns, 5 with planted shifts, 15 without, written as Parquet.

Shifted columns (the current side differs from the reference by construction):
    s_mean      normal, mean moved by 0.1 sd
    s_spread    normal, standard deviation up 20 %
    s_category  6 categories, one gains 5 percentage points from another
    s_rare      20 categories; 3 % of current rows fall in 10 rare categories never seen before
    s_missing   lognormal, 5 % of current values missing (none in the reference)
Unshifted columns are drawn from the same distribution on both sides (independent draws).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SHIFTED = ["s_mean", "s_spread", "s_category", "s_rare", "s_missing"]
CATEGORICAL = [
    "s_category",
    "s_rare",
    "u_cat3",
    "u_cat10",
    "u_zipf50",
    "u_cat_missing",
]


def _cats(
    rng: np.random.Generator, names: list[str], n: int, p: np.ndarray | None = None
) -> pa.Array:
    codes = rng.choice(len(names), n, p=p).astype(np.int32)
    return pa.DictionaryArray.from_arrays(codes, pa.array(names)).cast(pa.string())


def _with_missing(rng: np.random.Generator, arr: pa.Array, share: float) -> pa.Array:
    mask = rng.random(len(arr)) < share
    return pa.array(arr.to_numpy(zero_copy_only=False), mask=mask) if share else arr


def side(n: int, seed: int, shifted: bool) -> pa.Table:
    rng = np.random.default_rng(seed)
    s = shifted
    cat6 = [f"c{i}" for i in range(6)]
    p6 = np.array([0.25, 0.25, 0.2, 0.1, 0.1, 0.1])
    if s:
        p6 = p6 + np.array([0.05, -0.05, 0, 0, 0, 0])
    cat20 = [f"r{i}" for i in range(20)]
    rare = _cats(rng, cat20, n)
    if s:
        new = _cats(rng, [f"new{i}" for i in range(10)], n)
        take_new = rng.random(n) < 0.03
        rare = pa.array(
            np.where(
                take_new, new.to_numpy(zero_copy_only=False), rare.to_numpy(zero_copy_only=False)
            )
        )
    zipf = 1.0 / np.arange(1, 51) ** 1.1
    bimodal = np.where(rng.random(n) < 0.4, rng.normal(-2, 0.5, n), rng.normal(2, 1, n))
    cols = {
        "s_mean": pa.array(rng.normal(50.1 if s else 50.0, 1.0, n)),
        "s_spread": pa.array(rng.normal(0.0, 1.2 if s else 1.0, n)),
        "s_category": _cats(rng, cat6, n, p6),
        "s_rare": rare,
        "s_missing": _with_missing(rng, pa.array(rng.lognormal(3, 0.5, n)), 0.05 if s else 0.0),
        "u_normal": pa.array(rng.normal(100, 15, n)),
        "u_lognormal": pa.array(rng.lognormal(0, 1, n)),
        "u_exponential": pa.array(rng.exponential(2.0, n)),
        "u_uniform": pa.array(rng.uniform(-1, 1, n)),
        "u_student_t3": pa.array(rng.standard_t(3, n)),
        "u_bimodal": pa.array(bimodal),
        "u_poisson": pa.array(rng.poisson(4, n)),
        "u_age": pa.array(rng.integers(18, 91, n)),
        "u_num_missing": _with_missing(rng, pa.array(rng.normal(0, 1, n)), 0.02),
        "u_cat3": _cats(rng, ["red", "green", "blue"], n, np.array([0.5, 0.3, 0.2])),
        "u_cat10": _cats(rng, [f"k{i}" for i in range(10)], n),
        "u_zipf50": _cats(rng, [f"z{i}" for i in range(50)], n, zipf / zipf.sum()),
        "u_bool1": pa.array(rng.random(n) < 0.5),
        "u_bool2": pa.array(rng.random(n) < 0.1),
        "u_cat_missing": _with_missing(rng, _cats(rng, list("abcde"), n), 0.03),
    }
    return pa.table(cols)


def ensure(n: int, root: Path) -> tuple[Path, Path]:
    """Reference and current Parquet files for n rows per side (generated once)."""
    d = root / str(n)
    d.mkdir(parents=True, exist_ok=True)
    ref, cur = d / "reference.parquet", d / "current.parquet"
    if not (ref.exists() and cur.exists()):
        pq.write_table(side(n, 1000 + n % 997, False), ref)
        pq.write_table(side(n, 2000 + n % 991, True), cur)
    return ref, cur
