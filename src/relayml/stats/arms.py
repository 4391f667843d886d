"""Is one arm of a deployment different from the primary? The tests `relay deployments compare`
reports, on plain arrays: a Wilson interval for a rate, a two-proportion z-test (independent
requests: a canary against the primary), McNemar's exact test (the same requests: a shadow
against the primary), and Welch's and the paired t-test for errors of regressors."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Test:
    """A test of "the arm and the primary differ": its name, statistic and p-value."""

    name: str
    statistic: float
    pvalue: float

    def real(self, alpha: float) -> bool:
        return bool(self.pvalue < alpha)

    def to_dict(self) -> dict[str, float | str]:
        return {"test": self.name, "statistic": self.statistic, "pvalue": self.pvalue}


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a rate (n > 0)."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportions(k1: int, n1: int, k2: int, n2: int) -> Test:
    """Two-sided z-test that two independent rates are equal (pooled variance)."""
    from scipy.stats import norm

    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return Test("two-proportion z", 0.0, 1.0)
    z = (k1 / n1 - k2 / n2) / se
    return Test("two-proportion z", z, float(2 * norm.sf(abs(z))))


def mcnemar(only_first: int, only_second: int) -> Test:
    """McNemar's exact test on paired outcomes: `only_first` pairs right for the first only,
    `only_second` for the second only (a binomial test on the discordant pairs)."""
    from scipy.stats import binomtest

    n = only_first + only_second
    if n == 0:
        return Test("McNemar exact", 0.0, 1.0)
    return Test("McNemar exact", float(only_first - only_second),
                float(binomtest(only_first, n, 0.5).pvalue))  # fmt: skip


def welch(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> Test:
    """Welch's t-test that two independent samples have the same mean."""
    from scipy.stats import ttest_ind

    if len(a) < 2 or len(b) < 2:
        return Test("Welch t", 0.0, 1.0)
    result = ttest_ind(a, b, equal_var=False)
    return _finite("Welch t", result.statistic, result.pvalue)


def paired_t(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> Test:
    """The paired t-test that `a - b` has mean 0."""
    from scipy.stats import ttest_rel

    if len(a) < 2 or np.allclose(a, b):
        return Test("paired t", 0.0, 1.0)
    result = ttest_rel(a, b)
    return _finite("paired t", result.statistic, result.pvalue)


def _finite(name: str, statistic: float, pvalue: float) -> Test:
    s, p = float(statistic), float(pvalue)
    return Test(name, s if math.isfinite(s) else 0.0, p if math.isfinite(p) else 1.0)
