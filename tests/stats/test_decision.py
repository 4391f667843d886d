"""The decision rule on planted shifts: every shift caught, nothing else flagged, at every size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import relayml.drift as drift
from relayml.stats.decision import Effect, Signal, explain

from .conftest import SHIFTED, STABLE, planted


@pytest.mark.parametrize("n", [10_000, 100_000])
def test_planted_shifts_caught_and_nothing_else(n: int) -> None:
    report = drift.compare(planted(n, 10, False), planted(n, 11, True))
    assert sorted(report.drifted) == sorted(SHIFTED), {c.name: c.reason for c in report}
    for name in STABLE:
        assert report[name].reason.startswith("Not drifted")


def test_no_shift_flags_nothing() -> None:
    report = drift.compare(planted(10_000, 3, False), planted(10_000, 4, False))
    assert report.drifted == []


def test_small_sample_still_catches_large_shifts() -> None:
    rng = np.random.default_rng(5)
    n = 1_000
    ref = pd.DataFrame(
        {"x": rng.normal(0, 1, n), "k": rng.choice(["a", "b"], n), "y": rng.normal(0, 1, n)}
    )
    cur = pd.DataFrame(
        {
            "x": rng.normal(0.5, 1, n),
            "k": rng.choice(["a", "b"], n, p=[0.7, 0.3]),
            "y": rng.normal(0, 1, n),
        }
    )
    report = drift.compare(ref, cur)
    assert report.drifted == ["x", "k"]


def test_huge_sample_does_not_flag_trivial_shift() -> None:
    """1M rows: a 0.01 sd move is highly significant but far below the effect threshold."""
    rng = np.random.default_rng(6)
    n = 1_000_000
    ref = pd.DataFrame({"x": rng.normal(0, 1, n), "big": rng.normal(0, 1, n)})
    cur = pd.DataFrame({"x": rng.normal(0.01, 1, n), "big": rng.normal(0.1, 1, n)})
    report = drift.compare(ref, cur)
    assert report["x"].signals[0].credible
    assert not report["x"].drifted
    assert "credible" in report["x"].reason and "small" in report["x"].reason
    assert report.drifted == ["big"]


def test_thresholds_are_options() -> None:
    ref, cur = planted(10_000, 10, False), planted(10_000, 11, True)
    report = drift.compare(ref, cur, columns=["mean_shift"], wasserstein=0.5)
    assert report.drifted == []
    assert report.thresholds.wasserstein == 0.5


def test_explain_says_why() -> None:
    s = Signal("distribution", "ks", 1e-9, [Effect("wasserstein_norm", 0.2, 0.01, 0.05)], 1e-8)
    drifted, reason = explain([s], 0.05)
    assert drifted and reason.startswith("Drifted") and "0.190" in reason
    s2 = Signal("distribution", "ks", 0.5, [Effect("wasserstein_norm", 0.2, 0.01, 0.05)], 0.6)
    drifted, reason = explain([s2], 0.05)
    assert not drifted and "no credible change" in reason
