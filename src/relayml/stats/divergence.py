"""PSI and Jensen-Shannon between two binned samples, and what they are worth under no shift.

Both are positive for two samples of the *same* distribution: with k bins and sample sizes n
and m, E[PSI] ~= (k - 1) * (1/n + 1/m) and E[JS divergence] ~= (k - 1) / 8 * (1/n + 1/m) nats
(second-order expansion; the chi-square approximation). The decision rule subtracts these before
comparing with a threshold, so small samples are not flagged for sampling noise.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# Pseudo-count added to every bin of both sides before PSI's logarithm, so an empty bin gives a
# large but finite value (the common 0.5 "Jeffreys" correction).
PSEUDO_COUNT = 0.5


def proportions(counts: npt.ArrayLike, pseudo_count: float = 0.0) -> FloatArray:
    c = np.asarray(counts, dtype=np.float64) + pseudo_count
    total = c.sum()
    return c / total if total > 0 else np.zeros_like(c)


def psi(ref_counts: npt.ArrayLike, cur_counts: npt.ArrayLike) -> float:
    """Population stability index sum((q - p) * ln(q / p)), with a 0.5 pseudo-count per bin."""
    p = proportions(ref_counts, PSEUDO_COUNT)
    q = proportions(cur_counts, PSEUDO_COUNT)
    return float(np.sum((q - p) * np.log(q / p)))


def js_divergence(ref_counts: npt.ArrayLike, cur_counts: npt.ArrayLike) -> float:
    """Jensen-Shannon divergence in bits (0 = identical, 1 = disjoint)."""
    p = proportions(ref_counts)
    q = proportions(cur_counts)
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kp = np.where(p > 0, p * np.log2(p / m), 0.0)
        kq = np.where(q > 0, q * np.log2(q / m), 0.0)
    return float(max(0.5 * (kp.sum() + kq.sum()), 0.0))


def js_distance(ref_counts: npt.ArrayLike, cur_counts: npt.ArrayLike) -> float:
    """Jensen-Shannon distance (square root of the divergence, base 2), as SciPy defines it."""
    return math.sqrt(js_divergence(ref_counts, cur_counts))


def psi_null(bins: int, n: int, m: int) -> float:
    """Expected PSI of two samples of sizes n and m from one distribution over ``bins`` bins."""
    if n <= 0 or m <= 0:
        return 0.0
    return max(bins - 1, 0) * (1.0 / n + 1.0 / m)


def js_divergence_null(bins: int, n: int, m: int) -> float:
    """Expected JS divergence (bits) of two samples of one distribution over ``bins`` bins."""
    if n <= 0 or m <= 0:
        return 0.0
    return max(bins - 1, 0) / 8.0 * (1.0 / n + 1.0 / m) / math.log(2.0)


def total_variation(ref_counts: npt.ArrayLike, cur_counts: npt.ArrayLike) -> float:
    """Half the L1 distance between the two proportion vectors: the share of rows that moved."""
    return float(0.5 * np.abs(proportions(ref_counts) - proportions(cur_counts)).sum())


def total_variation_null(ref_counts: npt.ArrayLike, n: int, m: int) -> float:
    """Expected total variation of two samples of one distribution (ref's proportions).

    Each bin's difference is about normal with sd sqrt(p(1-p)(1/n+1/m)), so its expected absolute
    value is sqrt(2/pi) times that.
    """
    if n <= 0 or m <= 0:
        return 0.0
    p = proportions(ref_counts)
    sd = np.sqrt(p * (1.0 - p) * (1.0 / n + 1.0 / m))
    return float(0.5 * math.sqrt(2.0 / math.pi) * sd.sum())
