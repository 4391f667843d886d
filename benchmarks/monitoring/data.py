"""Monitoring benchmark data: a scored, labelled traffic stream of 40 input columns with planted
shifts, generated deterministically (the same seed gives the same rows in every tool's process).

Inputs: 28 numeric and 12 categorical columns. The truth is P(y = 1 | x) = sigmoid(logit(x)) on
six of them; the model's score is a monotone but miscalibrated function of a slightly wrong
logit (so calibration has work to do and the model is not the truth). ``shift`` in [0, 1] scales
the planted shifts, all covariate shifts (P(y | x) never changes, the setting CBPE is built for):

    s_mean      numeric, in the model: mean moves by 1.2 sd
    s_spread    numeric: standard deviation up 40 %
    s_category  categorical, in the model: category "a" gains 20 points from "c"
    s_new       categorical: 8 % of rows in categories never seen before
    s_missing   numeric: 15 % missing values
The other 35 columns (u_*) never change.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

SHIFTED = ["s_mean", "s_spread", "s_category", "s_new", "s_missing"]
N_NUMERIC_STABLE = 25
N_CATEGORICAL_STABLE = 10
CATS = ["a", "b", "c", "d", "e"]


def _cats(rng: np.random.Generator, names: list[str], n: int, p: Any = None) -> pa.Array:
    codes = rng.choice(len(names), n, p=p).astype(np.int32)
    return pa.DictionaryArray.from_arrays(codes, pa.array(names)).cast(pa.string())


def window(n: int, seed: int, shift: float = 0.0) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """``n`` rows: (40 input columns, the model's score of the positive class, the true label)."""
    rng = np.random.default_rng(seed)
    s = float(shift)
    cols: dict[str, Any] = {}
    s_mean = rng.normal(1.2 * s, 1.0, n)
    cols["s_mean"] = s_mean
    cols["s_spread"] = rng.normal(0.0, 1.0 + 0.4 * s, n)
    p_cat = np.array([0.2, 0.2, 0.3, 0.15, 0.15]) + np.array([0.2, 0, -0.2, 0, 0]) * s
    category = rng.choice(5, n, p=p_cat)
    cols["s_category"] = pa.DictionaryArray.from_arrays(
        category.astype(np.int32), pa.array(CATS)
    ).cast(pa.string())
    new = _cats(rng, [f"x{i}" for i in range(20)], n).to_numpy(zero_copy_only=False)
    base = _cats(rng, [f"k{i}" for i in range(8)], n).to_numpy(zero_copy_only=False)
    cols["s_new"] = pa.array(np.where(rng.random(n) < 0.08 * s, new, base))
    missing = rng.random(n) < 0.15 * s
    cols["s_missing"] = pa.array(rng.lognormal(2.0, 0.5, n), mask=missing)
    f1, f2 = rng.normal(0, 1, n), rng.exponential(1.0, n)
    cols["u_f1"], cols["u_f2"] = f1, f2
    for i in range(N_NUMERIC_STABLE - 2):
        kind = i % 4
        if kind == 0:
            cols[f"u_num{i}"] = rng.normal(10 * i, 1 + i, n)
        elif kind == 1:
            cols[f"u_num{i}"] = rng.lognormal(0, 1, n)
        elif kind == 2:
            cols[f"u_num{i}"] = rng.integers(0, 100, n)
        else:
            cols[f"u_num{i}"] = rng.uniform(-1, 1, n)
    zipf = 1.0 / np.arange(1, 31) ** 1.1
    for i in range(N_CATEGORICAL_STABLE):
        k = 3 + 3 * i
        p = zipf[:k] / zipf[:k].sum()
        cols[f"u_cat{i}"] = _cats(rng, [f"v{j}" for j in range(k)], n, p)
    is_a = category == 0
    logit = 1.4 * s_mean - 0.8 * f1 + 0.5 * (f2 - 1.0) + 0.9 * is_a - 0.6
    truth = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    model_logit = 1.2 * s_mean - 0.9 * f1 + 0.4 * (f2 - 1.0) + 0.7 * is_a - 0.5
    score = 1.0 / (1.0 + np.exp(-(1.5 * model_logit + 0.5)))
    return pa.table(cols), score, truth


def timeline(windows: int) -> list[float]:
    """Shift per window: none for the first half, then a ramp up to the full shift."""
    half = windows // 2
    return [0.0] * half + [
        min(1.0, (i + 1) / max(windows - half, 1)) for i in range(windows - half)
    ]


def regression(table: pa.Table, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A regressor on the same inputs: (its prediction, the true value). The truth bends
    upward past s_mean = 1, which the model (a straight line in s_mean) does not see, so the
    planted shift of s_mean moves traffic where it errs more (P(y | x) never changes)."""
    rng = np.random.default_rng((seed, 97))  # not window()'s stream: noise apart from inputs
    s_mean = table.column("s_mean").to_numpy()
    f1, f2 = table.column("u_f1").to_numpy(), table.column("u_f2").to_numpy()
    is_a = (table.column("s_category").to_numpy(zero_copy_only=False) == "a").astype(float)
    model = 2.0 * s_mean + 0.8 * f1 - 0.5 * (f2 - 1.0) + 0.7 * is_a
    truth = model + 1.5 * np.maximum(s_mean - 1.0, 0.0) ** 2 + rng.normal(0.0, 0.5, s_mean.size)
    return model, truth
