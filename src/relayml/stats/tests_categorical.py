"""Tests for categorical and boolean columns, computed from two category-count sketches.

- Chi-square test of homogeneity on the 2 x k table (reference, current) x categories; categories
  whose expected count is below 5 on either side are pooled into one cell so the chi-square
  approximation holds. p-value from SciPy's chi2 distribution.
- Total variation (the share of rows that would have to change category), PSI and
  Jensen-Shannon on all categories, including those unseen in the reference.
- Unseen categories: the share of current rows whose category the reference never had. Under no
  shift it is about the Good-Turing missing mass of the reference (categories seen once / n); the
  p-value is a one-sided binomial test against that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from relayml.stats.divergence import (
    js_distance,
    js_divergence,
    js_divergence_null,
    psi,
    psi_null,
    total_variation,
    total_variation_null,
)
from relayml.stats.sketch import CategoricalSketch

IntArray = npt.NDArray[np.int64]

MIN_EXPECTED = 5.0
OTHER = "(other)"


@dataclass(frozen=True)
class CategoricalComparison:
    categories: list[str]
    reference_counts: list[int]
    current_counts: list[int]
    chi2_statistic: float
    chi2_dof: int
    chi2_pvalue: float
    total_variation: float
    total_variation_null: float
    psi: float
    psi_null: float
    js_distance: float
    js_divergence: float
    js_divergence_null: float
    unseen_categories: list[str]
    unseen_share: float
    unseen_expected: float
    unseen_pvalue: float
    unseen_tested: bool  # False when the reference lumped rare categories (share unknowable)


def aligned_counts(
    ref: CategoricalSketch, cur: CategoricalSketch
) -> tuple[list[str], IntArray, IntArray]:
    """Counts of both sides over the union of categories (reference's order first)."""
    keys = list(ref.counts)
    keys += [k for k in cur.counts if k not in ref.counts]
    r = np.fromiter((ref.counts.get(k, 0) for k in keys), dtype=np.int64, count=len(keys))
    c = np.fromiter((cur.counts.get(k, 0) for k in keys), dtype=np.int64, count=len(keys))
    if ref.other or cur.other:
        keys.append(OTHER)
        r = np.append(r, ref.other)
        c = np.append(c, cur.other)
    return keys, r, c


def chi_square(ref_counts: IntArray, cur_counts: IntArray) -> tuple[float, int, float]:
    """Chi-square homogeneity test, pooling cells with expected count < 5 into one."""
    n, m = int(ref_counts.sum()), int(cur_counts.sum())
    if n == 0 or m == 0:
        return 0.0, 0, 1.0
    pooled = (ref_counts + cur_counts).astype(np.float64)
    small = np.minimum(pooled * n, pooled * m) / (n + m) < MIN_EXPECTED
    if small.any():
        r = np.append(ref_counts[~small], ref_counts[small].sum())
        c = np.append(cur_counts[~small], cur_counts[small].sum())
        keep = (r + c) > 0
        r, c = r[keep], c[keep]
    else:
        r, c = ref_counts, cur_counts
    return chi_square_table(r, c)


def chi_square_table(r: IntArray, c: IntArray) -> tuple[float, int, float]:
    """Pearson chi-square of the 2 x k table [r; c] (no continuity correction)."""
    k = int(r.size)
    if k < 2:
        return 0.0, 0, 1.0
    n, m = float(r.sum()), float(c.sum())
    pooled = (r + c).astype(np.float64)
    er = pooled * n / (n + m)
    ec = pooled * m / (n + m)
    stat = float(np.sum((r - er) ** 2 / er) + np.sum((c - ec) ** 2 / ec))
    dof = k - 1
    return stat, dof, float(sps.chi2.sf(stat, dof))


def unseen_test(
    ref: CategoricalSketch, cur: CategoricalSketch
) -> tuple[list[str], float, float, float]:
    """Unseen categories, their share of current rows, the share expected, and a p-value."""
    unseen = [k for k in cur.counts if k not in ref.counts]
    m = cur.n
    if m == 0:
        return unseen, 0.0, 0.0, 1.0
    u = sum(cur.counts[k] for k in unseen)
    expected = (ref.singletons() + 1) / (ref.n + 1)
    p = float(sps.binom.sf(u - 1, m, expected)) if u > 0 else 1.0
    return sorted(unseen, key=lambda k: -cur.counts[k]), u / m, expected, p


def compare_categorical(ref: CategoricalSketch, cur: CategoricalSketch) -> CategoricalComparison:
    keys, r, c = aligned_counts(ref, cur)
    n, m = int(r.sum()), int(c.sum())
    stat, dof, p = chi_square(r, c)
    both = n > 0 and m > 0
    unseen, share, expected, p_unseen = unseen_test(ref, cur)
    return CategoricalComparison(
        categories=keys,
        reference_counts=[int(x) for x in r],
        current_counts=[int(x) for x in c],
        chi2_statistic=stat,
        chi2_dof=dof,
        chi2_pvalue=p,
        total_variation=total_variation(r, c) if both else 0.0,
        total_variation_null=total_variation_null(r + c, n, m),
        psi=psi(r, c) if both else 0.0,
        psi_null=psi_null(int(np.count_nonzero(r + c)), n, m),
        js_distance=js_distance(r, c) if both else 0.0,
        js_divergence=js_divergence(r, c) if both else 0.0,
        js_divergence_null=js_divergence_null(int(np.count_nonzero(r + c)), n, m),
        unseen_categories=unseen,
        unseen_share=share,
        unseen_expected=expected,
        unseen_pvalue=p_unseen,
        unseen_tested=ref.other == 0,
    )
