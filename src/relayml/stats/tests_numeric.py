"""Tests for numeric (and datetime) columns, computed from two sketches on the same edges.

- Kolmogorov-Smirnov: the largest gap between the two empirical CDFs, evaluated exactly at every
  edge and just before it; the exact statistic is at most ``ks_error_bound`` larger (see
  sketch.py). p-value from SciPy's ``kstwo`` with n*m/(n+m), as ``scipy.stats.ks_2samp`` does
  with ``method="asymp"``.
- Wasserstein-1: the area between the CDFs, with values assumed uniform inside a bin (exact for
  values that sit on edges, e.g. integers); normalised by the reference standard deviation.
- PSI and Jensen-Shannon on ``coarse_bins`` reference-quantile bins (deciles by default), built
  by grouping the fine bins.
"""

from __future__ import annotations

import math
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
)
from relayml.stats.sketch import NumericSketch

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_COARSE_BINS = 10


@dataclass(frozen=True)
class NumericComparison:
    ks_statistic: float
    ks_pvalue: float
    ks_error_bound: float
    wasserstein: float
    wasserstein_norm: float  # wasserstein / scale
    wasserstein_norm_null: float  # its expected value under no shift
    scale: float  # reference standard deviation (1.0 when the reference is constant)
    psi: float
    psi_null: float
    js_distance: float
    js_divergence: float
    js_divergence_null: float
    coarse_edges: list[float]  # inner boundaries of the PSI/JS bins
    coarse_reference: list[int]
    coarse_current: list[int]


def ks_from_sketches(ref: NumericSketch, cur: NumericSketch) -> tuple[float, float]:
    """Two-sample KS statistic and asymptotic p-value (as ks_2samp(method='asymp'))."""
    n, m = ref.n, cur.n
    if n == 0 or m == 0 or ref.edges.size == 0:
        return 0.0, 1.0
    gap_at = np.abs(ref.cdf_at_edges() - cur.cdf_at_edges())
    gap_before = np.abs(ref.cdf_before_edges() - cur.cdf_before_edges())
    d = float(max(gap_at.max(), gap_before.max()))
    return d, ks_pvalue(d, n, m)


def ks_pvalue(d: float, n: int, m: int) -> float:
    en = n * m / (n + m)
    return float(np.clip(sps.kstwo.sf(d, np.round(en)), 0.0, 1.0))


def _area_between(d0: FloatArray, d1: FloatArray, width: FloatArray) -> float:
    """Integral of |d| over intervals where d goes linearly from d0 to d1."""
    a0, a1 = np.abs(d0), np.abs(d1)
    same = d0 * d1 >= 0
    total = a0 + a1
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(total > 0, (d0 * d0 + d1 * d1) / (2.0 * total), 0.0)
    area = np.where(same, 0.5 * total, crossing) * width
    return float(area.sum())


def _cdf_knots(sk: NumericSketch) -> tuple[FloatArray, FloatArray]:
    """CDF values at the start and end of each interval of [lo, e0, e1, ..., e_last, hi]."""
    n = max(sk.n, 1)
    at = sk.cum_counts / n
    before = (sk.cum_counts - sk.at_edges) / n
    start = np.concatenate(([0.0], at))  # right limit at lo, e0, ..., e_last
    end = np.concatenate((before, [1.0]))  # left limit at e0, ..., e_last, hi
    return start, end


def wasserstein_from_sketches(ref: NumericSketch, cur: NumericSketch) -> float:
    """Wasserstein-1 distance between the two samples, from their sketches."""
    if ref.n == 0 or cur.n == 0 or ref.edges.size == 0:
        return 0.0
    lo = min(ref.minimum, cur.minimum, float(ref.edges[0]))
    hi = max(ref.maximum, cur.maximum, float(ref.edges[-1]))
    grid = np.concatenate(([lo], ref.edges, [hi]))
    width = np.diff(grid)
    r0, r1 = _cdf_knots(ref)
    c0, c1 = _cdf_knots(cur)
    return _area_between(r0 - c0, r1 - c1, width)


def wasserstein_null(ref: NumericSketch, m: int) -> float:
    """Expected Wasserstein-1 of two samples (sizes ref.n and m) of the reference distribution.

    The gap between the two CDFs at x is about normal with sd sqrt(F(1-F)(1/n+1/m)), so
    E[W1] ~= sqrt(2/pi) * sqrt(1/n + 1/m) * integral of sqrt(F(1-F)) dx.
    """
    if ref.n == 0 or m == 0 or ref.edges.size < 2:
        return 0.0
    f = ref.cdf_at_edges()
    mid = 0.5 * (f[:-1] + (ref.cdf_before_edges()[1:]))
    integral = float(np.sum(np.sqrt(np.clip(mid * (1.0 - mid), 0.0, None)) * np.diff(ref.edges)))
    return math.sqrt(2.0 / math.pi) * math.sqrt(1.0 / ref.n + 1.0 / m) * integral


def coarse_boundaries(ref: NumericSketch, bins: int = DEFAULT_COARSE_BINS) -> IntArray:
    """Indices of fine edges that split the reference into ~equal-count coarse bins."""
    f = ref.cdf_at_edges()
    targets = np.arange(1, bins, dtype=np.float64) / bins
    idx = np.searchsorted(f, targets - 1e-12, side="left")
    idx = idx[idx < ref.edges.size - 1]  # the last edge holds everything: not a boundary
    return np.unique(idx).astype(np.int64)


def coarse_counts(sk: NumericSketch, boundaries: IntArray) -> IntArray:
    cum = np.concatenate(([0], sk.cum_counts[boundaries], [sk.n]))
    return np.diff(cum).astype(np.int64)


def reference_scale(ref: NumericSketch) -> float:
    """What one unit of Wasserstein is measured in: the reference sd, 1.0 if that is zero."""
    sd = ref.std
    return sd if sd > 0 and math.isfinite(sd) else 1.0


def compare_numeric(
    ref: NumericSketch, cur: NumericSketch, coarse_bins: int = DEFAULT_COARSE_BINS
) -> NumericComparison:
    d, p = ks_from_sketches(ref, cur)
    w = wasserstein_from_sketches(ref, cur)
    scale = reference_scale(ref)
    bounds = coarse_boundaries(ref, coarse_bins) if ref.edges.size else np.zeros(0, np.int64)
    rc = coarse_counts(ref, bounds)
    cc = coarse_counts(cur, bounds)
    k = int(rc.size)
    return NumericComparison(
        ks_statistic=d,
        ks_pvalue=p,
        ks_error_bound=ref.ks_error_bound(),
        wasserstein=w,
        wasserstein_norm=w / scale,
        wasserstein_norm_null=wasserstein_null(ref, cur.n) / scale,
        scale=scale,
        psi=psi(rc, cc) if ref.n and cur.n else 0.0,
        psi_null=psi_null(k, ref.n, cur.n),
        js_distance=js_distance(rc, cc) if ref.n and cur.n else 0.0,
        js_divergence=js_divergence(rc, cc) if ref.n and cur.n else 0.0,
        js_divergence_null=js_divergence_null(k, ref.n, cur.n),
        coarse_edges=[float(x) for x in ref.edges[bounds]],
        coarse_reference=[int(x) for x in rc],
        coarse_current=[int(x) for x in cc],
    )
