"""Profiles against numpy/pandas on generated data: nulls, categories, approximate distinct."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from relayml.stats.profile import DISTINCT_RSE, SAMPLE, Profiler
from relayml.stats.sketch import NumericSketch
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
    v = sketch.columns["v"]
    assert sketch.n_rows == n and v.n == n  # exact counts in the drift sketch
    assert isinstance(v, NumericSketch) and v.ks_error_bound() < 0.002


def test_empty_and_all_null_columns() -> None:
    table = pa.table(
        {"a": pa.array([None, None], pa.float64()), "s": pa.array([None, None], pa.string())}
    )
    prof, p = profile_of(table)
    assert prof["columns"]["a"]["count"] == 0 and prof["columns"]["a"]["missing"] == 2
    assert prof["columns"]["s"]["distinct"] == 0
    assert p.sketch().columns["a"].n == 0


def test_a_nearly_unique_string_column_keeps_bounded_state_and_its_heavy_hitter() -> None:
    """Issue 10 item 1: a column of distinct strings is profiled from Arrow value counts (no
    Python string per value), with at most 2 x MAX_CATEGORIES categories held at any time; a
    value repeated among them keeps its exact count at the top."""
    from relayml.stats.profile import MAX_CATEGORIES

    n = 200_000
    codes = [f"C-{i:07d}" for i in range(n)]
    for i in range(0, n, 200):
        codes[i] = "bad_code"  # 1,000 rows
    table = pa.table({"code": pa.array(codes)})
    p = Profiler(table.schema)
    for b in rechunk(table.to_batches(), rows=20_000):
        p.update(b)
        assert len(p.columns["code"].counts) <= 2 * MAX_CATEGORIES
    p.start_bins()
    col = p.profile()["columns"]["code"]
    assert col["top"][0] == ["bad_code", 1_000] and col["top_approx"] is True
    assert col["count"] == n and col["missing"] == 0
    distinct = n - 1_000 + 1
    assert col["distinct_approx"] is True
    assert abs(col["distinct"] / distinct - 1) < 4 * DISTINCT_RSE
    kept = p.columns["code"]
    assert len(kept.counts) == MAX_CATEGORIES and sum(kept.counts.values()) + kept.other == n


def test_value_hashes_are_the_documented_polynomial() -> None:
    """_hash_values computes sum(byte_j * P**(n-1-j)) mod 2**64 (then mixed with the length)
    for strings and bytes, sliced or not, whatever its chunk size."""
    from relayml.stats import profile

    def reference(text: bytes) -> int:
        h = 0
        for byte in text:
            h = (h * profile._POLY + byte) % (1 << 64)
        return h

    words = ["", "a", "ab", "ba", "héllo", "x" * 70, "", "日本"]
    raw = [w.encode() for w in words]
    expected = profile._mix64(
        np.array([reference(b) for b in raw], dtype=np.uint64)
        ^ profile._mix64(np.array([len(b) for b in raw], dtype=np.uint64))
    )
    for arr in (pa.array(words), pa.array(words, pa.large_string()), pa.array(raw)):
        assert profile._hash_values(arr).tolist() == expected.tolist()
        assert profile._hash_values(arr.slice(2, 4)).tolist() == expected[2:6].tolist()
    chunk = profile.HASH_CHUNK_BYTES
    try:
        profile.HASH_CHUNK_BYTES = 3
        assert profile._hash_values(pa.array(words)).tolist() == expected.tolist()
    finally:
        profile.HASH_CHUNK_BYTES = chunk
    assert len(set(profile._hash_values(pa.array([True, False, None])).tolist())) == 3


def test_a_published_profile_is_the_profile_of_every_column(home) -> None:
    """The service's second pass reads only the binned (number and datetime) columns; the
    stored profile is that of a pass over every column."""
    import relayml as relay

    rng = np.random.default_rng(5)
    n = 70_000  # two batches
    seconds = rng.integers(0, 10**6, n).astype("timedelta64[s]")
    table = pa.table({
        "x": rng.normal(0, 1, n),
        "code": pa.array([f"c{i}" for i in rng.integers(0, 5_000, n)]),
        "when": pa.array(np.datetime64("2026-01-01") + seconds),
        "k": rng.integers(0, 9, n),
    })  # fmt: skip
    ds = relay.datasets.publish("p", table)
    stored, full = ds.profile, profile_of(ds.to_arrow())[0]  # as stored: timestamps in ms
    for name in ("x", "when", "k"):
        got, want = stored["columns"][name], full["columns"][name]
        assert got["histogram"] == want["histogram"] and got["count"] == want["count"]
        for key in ("mean", "std", "min", "max"):
            assert got[key] == pytest.approx(want[key], rel=1e-12)
    assert stored["columns"]["code"]["top"] == full["columns"]["code"]["top"]
