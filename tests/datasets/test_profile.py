"""Profiles against numpy/pandas on generated data: nulls, categories, approximate distinct."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from relayml.stats.profile import DISTINCT_RSE, SAMPLE, Profiler
from relayml.tables.parquet import rechunk


def profile_of(table: pa.Table) -> tuple[dict, Profiler]:
    p = Profiler(table.schema)
    batches = list(rechunk(table.to_batches(max_chunksize=7_000), rows=20_000))
    for b in batches:
        p.update(b)
    p.start_bins()
    for b in batches:
        p.update_bins(b)
    return p.profile(), p


def test_numeric_and_categorical_columns_match_pandas() -> None:
    rng = np.random.default_rng(7)
    n = 10_000
    x = rng.gamma(2.0, 3.0, n)
    x[rng.random(n) < 0.1] = np.nan
    grade = pd.Series(rng.choice(["A", "B", "C", "D"], n, p=[0.5, 0.3, 0.15, 0.05]))
    grade[rng.random(n) < 0.05] = None
    df = pd.DataFrame({"x": x, "k": rng.integers(0, 50, n), "grade": grade})
    df["flag"] = df["k"] % 3 == 0
    prof, _ = profile_of(pa.Table.from_pandas(df, preserve_index=False))
    cols = prof["columns"]
    assert prof["rows"] == n
    s = df["x"].dropna()
    px = cols["x"]
    assert (px["count"], px["missing"]) == (s.size, n - s.size)
    assert px["distinct_approx"] is True  # more than KMV_K distinct values
    assert abs(px["distinct"] / s.nunique() - 1) < 4 * DISTINCT_RSE
    assert px["min"] == s.min() and px["max"] == s.max()
    assert px["mean"] == pytest.approx(s.mean(), rel=1e-12)
    assert px["std"] == pytest.approx(s.std(), rel=1e-9)  # sample std, as pandas
    for q, v in px["quantiles"].items():  # exact below SAMPLE values
        assert v == pytest.approx(s.quantile(float(q)), rel=1e-12)
    counts, _ = np.histogram(s, bins=20, range=(s.min(), s.max()))
    assert px["histogram"]["counts"] == counts.tolist()
    assert cols["k"]["distinct"] == df["k"].nunique() and not cols["k"]["distinct_approx"]
    pg = cols["grade"]
    expected = df["grade"].value_counts()
    assert (pg["count"], pg["missing"]) == (expected.sum(), int(df["grade"].isna().sum()))
    assert pg["distinct"] == 4
    assert pg["top"] == [[k, int(v)] for k, v in expected.items()]
    assert dict(cols["flag"]["top"]) == {
        "true": int(df["flag"].sum()),
        "false": int((~df["flag"]).sum()),
    }


def test_large_columns_are_approximate_within_their_documented_error() -> None:
    rng = np.random.default_rng(11)
    n = 300_000
    ids = rng.permutation(n * 2)[:n].astype(np.int64)  # n distinct values
    labels = pa.array([f"user-{i}" for i in rng.integers(0, 120_000, n)])
    values = rng.normal(50, 10, n)
    prof, p = profile_of(pa.table({"id": ids, "label": labels, "v": values}))
    cols = prof["columns"]
    assert cols["id"]["distinct_approx"] is True
    assert abs(cols["id"]["distinct"] / n - 1) < 4 * DISTINCT_RSE
    true_labels = len(set(labels.to_pylist()))
    assert abs(cols["label"]["distinct"] / true_labels - 1) < 4 * DISTINCT_RSE
    assert cols["v"]["quantiles_approx"] is True and n > SAMPLE
    for q, v in cols["v"]["quantiles"].items():
        rank = float(np.mean(values <= v))
        assert abs(rank - float(q)) < 4 * np.sqrt(float(q) * (1 - float(q)) / SAMPLE)
    sketch = p.sketch()
    assert sketch.n_rows == n and sketch.columns["v"].n == n  # exact counts in the drift sketch
    assert sketch.columns["v"].ks_error_bound() < 0.002


def test_empty_and_all_null_columns() -> None:
    table = pa.table(
        {"a": pa.array([None, None], pa.float64()), "s": pa.array([None, None], pa.string())}
    )
    prof, p = profile_of(table)
    assert prof["columns"]["a"]["count"] == 0 and prof["columns"]["a"]["missing"] == 2
    assert prof["columns"]["s"]["distinct"] == 0
    assert p.sketch().columns["a"].n == 0
