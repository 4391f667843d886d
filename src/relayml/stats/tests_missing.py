"""Missing-value rate: did the share of nulls change?

Two-proportion z-test with the pooled rate (equal to the chi-square test of the 2 x 2 table
without continuity correction); p-value from SciPy's normal distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats as sps


@dataclass(frozen=True)
class MissingComparison:
    reference_rate: float
    current_rate: float
    change: float  # current - reference
    change_null: float  # expected |change| under no shift
    pvalue: float


def compare_missing(
    ref_missing: int, ref_total: int, cur_missing: int, cur_total: int
) -> MissingComparison:
    if ref_total == 0 or cur_total == 0:
        return MissingComparison(0.0, 0.0, 0.0, 0.0, 1.0)
    a, b = ref_missing / ref_total, cur_missing / cur_total
    pooled = (ref_missing + cur_missing) / (ref_total + cur_total)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / ref_total + 1.0 / cur_total))
    if se == 0.0:
        return MissingComparison(a, b, b - a, 0.0, 1.0)
    z = (b - a) / se
    p = float(2.0 * sps.norm.sf(abs(z)))
    return MissingComparison(a, b, b - a, math.sqrt(2.0 / math.pi) * se, min(p, 1.0))
