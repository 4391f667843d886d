"""Requests per minute and latency per arm (`stats.traffic`), on requests whose answer times,
arms and latencies are known: each lands in its clock minute, the window's edges hold, and the
percentiles are numpy's over the arm's requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from relayml.errors import InvalidInput
from relayml.stats.traffic import traffic

AS_OF = datetime(2026, 12, 2, 10, 30, 40, tzinfo=UTC)


def _us(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


def test_each_request_counts_in_its_minute_and_arm() -> None:
    minute0 = datetime(2026, 12, 2, 10, 21, tzinfo=UTC)  # a 10-minute window: 10:21..10:30
    times = [
        minute0 - timedelta(microseconds=1),  # before the window: left out
        minute0,  # the first minute's first microsecond
        minute0 + timedelta(seconds=59.999),
        minute0 + timedelta(minutes=9, seconds=30),  # the minute in progress
        minute0 + timedelta(minutes=9, seconds=45),
        minute0 + timedelta(minutes=10),  # after as_of's minute: left out
    ]
    arms = ["primary", "primary", "canary", "primary", "shadow", "primary"]
    found = traffic(
        ts_us=np.array([_us(t) for t in times], dtype=np.int64),
        arm=np.array(arms, dtype=object),
        version=np.array([1, 1, 2, 1, 3, 1], dtype=np.int64),
        latency_ms=np.array([9.0, 1.0, 5.0, 3.0, 7.0, 9.0]),
        rows=np.array([1, 4, 1, 2, 2, 1], dtype=np.int64),
        as_of=AS_OF,
        minutes=10,
    )
    assert found.start == minute0 and found.starts[-1] == minute0 + timedelta(minutes=9)
    assert list(found.per_minute) == ["primary", "canary", "shadow"]
    assert found.per_minute["primary"] == (1, 0, 0, 0, 0, 0, 0, 0, 0, 1)
    assert found.per_minute["canary"] == (1, *[0] * 9)
    assert found.per_minute["shadow"] == (*[0] * 9, 1)
    assert found.totals == [2, *[0] * 8, 2] and found.peak == 2
    assert (found.requests, found.rows) == (4, 9)
    primary = found.arms[0]
    assert (primary.arm, primary.version, primary.requests, primary.rows) == ("primary", 1, 2, 6)
    assert primary.latency_ms["p50"] == pytest.approx(2.0)


def test_percentiles_per_arm_and_version_and_nan_without_latency() -> None:
    rng = np.random.default_rng(3)
    n = 1000
    lat = rng.gamma(2.0, 3.0, n)
    version = np.where(np.arange(n) < 600, 1, 2)  # a promotion within the hour
    lat[version == 2] = np.nan  # an old server wrote no latency
    found = traffic(
        ts_us=np.full(n, _us(AS_OF - timedelta(minutes=5)), dtype=np.int64),
        arm=np.array(["primary"] * n, dtype=object),
        version=version.astype(np.int64),
        latency_ms=lat,
        rows=np.ones(n, dtype=np.int64),
        as_of=AS_OF,
        minutes=60,
    )
    v1, v2 = found.arms
    assert (v1.version, v1.requests, v2.version, v2.requests) == (1, 600, 2, 400)
    for q in (50, 95, 99):
        assert v1.latency_ms[f"p{q}"] == pytest.approx(np.percentile(lat[:600], q))
        assert np.isnan(v2.latency_ms[f"p{q}"])
    assert found.per_minute["primary"][54] == n  # one minute, both versions


@pytest.mark.parametrize("minutes", [0, -1, 1441, 2**63, True, 1.5, "60"])
def test_a_window_out_of_range_is_refused(minutes: object) -> None:
    empty = np.array([], dtype=np.int64)
    with pytest.raises(InvalidInput, match="minutes must be a whole number from 1 to 1440"):
        traffic(
            ts_us=empty, arm=np.array([], dtype=object), version=empty,
            latency_ms=np.array([]), rows=empty, as_of=AS_OF, minutes=minutes,  # type: ignore[arg-type]
        )  # fmt: skip
