"""Each statistic against SciPy's reference implementation on random data."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon

from relayml.stats.divergence import js_distance, psi, total_variation
from relayml.stats.sketch import CategoricalSketch, numeric_sketch
from relayml.stats.tests_categorical import chi_square_table, compare_categorical
from relayml.stats.tests_missing import compare_missing
from relayml.stats.tests_numeric import ks_from_sketches, wasserstein_from_sketches

samples = st.tuples(
    st.integers(0, 2**32 - 1),
    st.integers(5, 3_000),
    st.integers(5, 3_000),
    st.floats(-1.0, 1.0),
    st.floats(0.5, 2.0),
    st.booleans(),
)


def draw(seed: int, n: int, m: int, shift: float, scale: float, discrete: bool):
    rng = np.random.default_rng(seed)
    if discrete:
        return rng.poisson(4, n).astype(float), rng.poisson(4 * scale, m).astype(float)
    return rng.normal(0, 1, n), rng.normal(shift, scale, m)


def _interior_bound(ref, cur) -> float:
    """Wasserstein bound: masses strictly inside each bin times the bin width, summed."""
    lo = min(ref.minimum, cur.minimum)
    hi = max(ref.maximum, cur.maximum)
    grid = np.concatenate(([lo], ref.edges, [hi]))
    total = 0.0
    for sk in (ref, cur):
        before = sk.cum_counts - sk.at_edges
        inside = np.concatenate(
            ([before[0]], before[1:] - sk.cum_counts[:-1], [sk.n - sk.cum_counts[-1]])
        )
        total += float(np.sum(inside / sk.n * np.diff(grid)))
    return total


@settings(max_examples=40, deadline=None)
@given(samples)
def test_ks_matches_scipy_within_bound(args) -> None:
    x, y = draw(*args)
    ref = numeric_sketch(x, 0)
    cur = numeric_sketch(y, 0, edges=ref.edges)
    d, p = ks_from_sketches(ref, cur)
    exact = stats.ks_2samp(x, y, method="asymp")
    assert d <= exact.statistic + 1e-12
    assert exact.statistic - d <= ref.ks_error_bound() + 1e-12
    if ref.ks_error_bound() == 0:  # every reference value is an edge: binned KS is exact
        assert np.isclose(d, exact.statistic)
        assert np.isclose(p, exact.pvalue, rtol=1e-9, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(samples)
def test_wasserstein_matches_scipy_within_bound(args) -> None:
    x, y = draw(*args)
    ref = numeric_sketch(x, 0, bins=256)
    cur = numeric_sketch(y, 0, edges=ref.edges)
    w = wasserstein_from_sketches(ref, cur)
    exact = stats.wasserstein_distance(x, y)
    assert abs(w - exact) <= _interior_bound(ref, cur) + 1e-9


def test_ks_on_large_sample_is_within_one_over_bins() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=200_000), rng.normal(0.01, 1, 200_000)
    ref = numeric_sketch(x, 0)
    cur = numeric_sketch(y, 0, edges=ref.edges)
    d, _ = ks_from_sketches(ref, cur)
    assert ref.ks_error_bound() <= 1.5 / 2048
    assert 0 <= stats.ks_2samp(x, y).statistic - d <= ref.ks_error_bound()


count_tables = st.lists(
    st.tuples(st.integers(5, 5_000), st.integers(5, 5_000)), min_size=2, max_size=12
)


@settings(max_examples=60, deadline=None)
@given(count_tables)
def test_chi_square_matches_scipy(rows) -> None:
    r = np.array([a for a, _ in rows], dtype=np.int64)
    c = np.array([b for _, b in rows], dtype=np.int64)
    stat, dof, p = chi_square_table(r, c)
    ref = stats.chi2_contingency(np.vstack([r, c]), correction=False)
    assert np.isclose(stat, ref.statistic, rtol=1e-9)
    assert dof == ref.dof
    assert np.isclose(p, ref.pvalue, rtol=1e-7, atol=1e-300)


@settings(max_examples=60, deadline=None)
@given(count_tables)
def test_divergences_match_definitions(rows) -> None:
    r = np.array([a for a, _ in rows], dtype=np.float64)
    c = np.array([b for _, b in rows], dtype=np.float64)
    assert np.isclose(js_distance(r, c), jensenshannon(r / r.sum(), c / c.sum(), base=2), atol=1e-7)
    p, q = (r + 0.5) / (r + 0.5).sum(), (c + 0.5) / (c + 0.5).sum()
    assert np.isclose(psi(r, c), np.sum((q - p) * np.log(q / p)))
    assert np.isclose(total_variation(r, c), 0.5 * np.abs(r / r.sum() - c / c.sum()).sum())


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 500), st.integers(600, 5_000), st.integers(1, 500), st.integers(600, 5_000))
def test_missing_rate_test_matches_chi_square_2x2(a, n, b, m) -> None:
    res = compare_missing(a, n, b, m)
    table = np.array([[a, n - a], [b, m - b]])
    ref = stats.chi2_contingency(table, correction=False)
    assert np.isclose(res.pvalue, ref.pvalue, rtol=1e-6, atol=1e-300)


def test_categorical_comparison_counts_unseen_categories() -> None:
    ref = CategoricalSketch({"a": 500, "b": 500}, 0)
    cur = CategoricalSketch({"a": 450, "b": 450, "z": 100}, 0)
    res = compare_categorical(ref, cur)
    assert res.unseen_categories == ["z"]
    assert np.isclose(res.unseen_share, 0.1)
    assert res.unseen_pvalue < 1e-10
    assert res.categories == ["a", "b", "z"]
