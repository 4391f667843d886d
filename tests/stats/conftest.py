"""Planted-shift data for the drift tests: which columns changed is known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

SHIFTED = ["mean_shift", "spread_shift", "category_shift", "new_categories", "missing_shift"]
STABLE = ["normal", "skewed", "counts", "colour", "flag", "city"]


def planted(n: int, seed: int, shifted: bool) -> pd.DataFrame:
    """One side of a comparison; with ``shifted`` the five SHIFTED columns change."""
    rng = np.random.default_rng(seed)
    s = shifted
    base = ["a", "b", "c", "d", "e"]
    freqs = [0.35, 0.2, 0.15, 0.15, 0.15] if s else [0.3, 0.25, 0.15, 0.15, 0.15]
    cities = [f"city{i}" for i in range(30)]
    zipf = 1.0 / np.arange(1, 31)
    rare = rng.random(n) < 0.03
    new_cat = np.where(rare & s, rng.choice([f"new{i}" for i in range(10)], n), rng.choice(base, n))
    missing = rng.normal(10, 2, n)
    if s:
        missing[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "mean_shift": rng.normal(0.1 if s else 0.0, 1.0, n),
            "spread_shift": rng.normal(0.0, 1.2 if s else 1.0, n),
            "category_shift": rng.choice(base, n, p=freqs),
            "new_categories": new_cat,
            "missing_shift": missing,
            "normal": rng.normal(5.0, 3.0, n),
            "skewed": rng.lognormal(0.0, 1.0, n),
            "counts": rng.poisson(3.0, n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "flag": rng.random(n) < 0.3,
            "city": rng.choice(cities, n, p=zipf / zipf.sum()),
        }
    )


@pytest.fixture(scope="session")
def small_pair() -> tuple[pd.DataFrame, pd.DataFrame]:
    return planted(2_000, 1, False), planted(2_000, 2, True)
