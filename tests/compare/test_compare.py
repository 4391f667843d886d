"""`relay deployments compare` on a deployment whose prediction log (segments in the documented
schema, registered through the service) and feedback were written here: a canary whose answers
lean another way is flagged by the drift engine, a shadow agrees with the primary as often as it
did, and the shadow's better accuracy on the same requests is called real (McNemar) while the
canary's equal one is not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import relayml as relay
from relayml.client.base import Backend
from relayml.compare import compare
from relayml.domain.deployments import TrafficRules
from relayml.sdk import session
from relayml.stats import arms
from tests.cli.conftest import Relay
from tests.conftest import settings_for

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _segment(
    backend: Backend, tmp: Path, arm: str, version: int, ids: list[str], preds: np.ndarray, seq: int
) -> None:
    n = len(ids)
    ts = [T0 + timedelta(seconds=i) for i in range(n)]
    table = pa.table(
        {
            "prediction_id": ids,
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "deployment": ["churn-api"] * n,
            "project": ["churn"] * n,
            "model": ["churn"] * n,
            "version": pa.array([version] * n, pa.int64()),
            "digest": [f"{version:064x}"] * n,
            "arm": [arm] * n,
            "request_id": [f"r-{i}" for i in ids],
            "inputs": pa.array([{"x": float(i)} for i in range(n)]),
            "prediction": pa.array(preds.astype(np.int64)),
            "probabilities": pa.array([{"0": 0.5, "1": 0.5}] * n),
            "latency_ms": pa.array(np.full(n, 2.0 + version)),
        }
    )
    path = tmp / f"{arm}-{seq}.parquet"
    pq.write_table(table, path)
    backend.deployments.record_segment(
        "churn", "churn-api", path, uri=f"serving/churn/churn-api/2026-12-01/s1-{seq}.parquet",
        records=n, first_at=ts[0], last_at=ts[-1], server_id="s1",
    )  # fmt: skip


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[tuple[Backend, Path]]:
    from sklearn.linear_model import LogisticRegression

    home = tmp_path / ".relay"
    backend = session.connect(settings=settings_for(home), project="churn").backend
    relay.init("churn", home=home)
    X = pd.DataFrame({"x": np.arange(20.0)})
    for _ in range(3):
        relay.models.register("churn", LogisticRegression().fit(X, X.x > 9), input_example=X[:2])
    session.reset()
    rules = TrafficRules(canary="churn@2", canary_percent=20.0, shadow="churn@3")
    backend.deployments.create("churn", "churn-api", "churn@1", traffic=rules)
    rng = np.random.default_rng(7)
    truth_p = rng.random(600) < 0.4  # the true class of the primary's 600 requests
    primary = np.where(rng.random(600) < 0.65, truth_p, ~truth_p)  # 65 % right
    shadow = np.where(rng.random(600) < 0.85, truth_p, ~truth_p)  # 85 % right, same requests
    ids = [f"p{i}" for i in range(600)]
    truth_c = rng.random(200) < 0.8  # the canary's requests lean to class 1
    canary = np.where(rng.random(200) < 0.65, truth_c, ~truth_c)  # as right as the primary
    cids = [f"c{i}" for i in range(200)]
    _segment(backend, tmp_path, "primary", 1, ids[:300], primary[:300], 1)
    _segment(backend, tmp_path, "primary", 1, ids[300:], primary[300:], 2)
    _segment(backend, tmp_path, "shadow", 3, ids, shadow, 3)
    _segment(backend, tmp_path, "canary", 2, cids, canary, 4)
    for pid, label in [*zip(ids[:400], truth_p[:400], strict=True),
                       *zip(cids[:150], truth_c[:150], strict=True)]:  # fmt: skip
        backend.deployments.submit_feedback("churn", "churn-api", pid, label=int(label))
    yield backend, home
    backend.close()


def test_each_arm_against_the_primary(logged: tuple[Backend, Path]) -> None:
    backend, _ = logged
    c = compare(backend, "churn", "churn-api")
    assert (c.segments, c.rows, c.feedback, c.classifier) == (4, 1400, 550, True)
    primary, canary, shadow = c.arms
    assert [(a.arm, a.version, a.requests) for a in c.arms] == [
        ("primary", 1, 600), ("canary", 2, 200), ("shadow", 3, 600),
    ]  # fmt: skip
    assert primary.latency_ms["p50"] == 3.0 and canary.latency_ms["p99"] == 4.0
    assert primary.drift is None and primary.agreement is None
    # the canary answers other requests, which lean to class 1: the drift engine says so
    assert canary.drift is not None and canary.drift["drifted"]
    assert canary.agreement == {
        "pairs": 0, "note": "answers other requests than the primary (a canary)",
    }  # fmt: skip
    # the shadow answers the same requests: agreement counted pair by pair, with its interval
    assert shadow.agreement is not None and shadow.agreement["pairs"] == 600
    expected = float(np.mean(pd.Series(shadow_preds(backend)) == pd.Series(primary_preds(backend))))
    assert shadow.agreement["rate"] == pytest.approx(expected)
    assert shadow.agreement["low"] < expected < shadow.agreement["high"]
    # realised accuracy from feedback: the shadow's gain is real, the canary's difference not
    assert primary.realised is not None and primary.realised["n"] == 400
    assert shadow.realised is not None and shadow.realised["test"] == "McNemar exact"
    assert shadow.realised["real"] and shadow.realised["value"] > primary.realised["value"]
    assert canary.realised is not None and canary.realised["test"] == "two-proportion z"
    assert not canary.realised["real"]


def shadow_preds(backend: Backend) -> list[int]:
    return _preds(backend, "shadow")


def primary_preds(backend: Backend) -> list[int]:
    return _preds(backend, "primary")


def _preds(backend: Backend, arm: str) -> list[int]:
    from relayml.compare import read_log

    log, _ = read_log(backend, "churn", "churn-api", None, None)
    rows = log[log["arm"] == arm].sort_values("prediction_id")
    return [int(v) for v in rows["prediction"]]


def test_a_window_and_the_cli(logged: tuple[Backend, Path]) -> None:
    backend, home = logged
    early = compare(backend, "churn", "churn-api", until=T0 + timedelta(seconds=99))
    assert early.rows == 100 * 4  # the first 100 rows of each segment
    cli = Relay(home)
    shown = cli("deployments", "compare", "churn-api", "-p", "churn")
    assert shown.code == 0, shown.err
    assert "1,400 answered rows in 4 log segments, 550 with feedback" in shown.out
    assert "McNemar exact" in shown.out and "two-proportion z" in shown.out
    as_json = cli("deployments", "compare", "churn-api", "-p", "churn", "--json")
    assert [a["arm"] for a in json.loads(as_json.out)["arms"]] == ["primary", "canary", "shadow"]
    none = cli("deployments", "compare", "nope", "-p", "churn")
    assert none.code == 5


def test_the_tests_match_their_textbook_values() -> None:
    # McNemar: 10 discordant pairs all one way -> p = 2 * 0.5**10
    assert arms.mcnemar(10, 0).pvalue == pytest.approx(2 * 0.5**10)
    assert arms.mcnemar(0, 0).pvalue == 1.0
    # two proportions 60/100 vs 40/100: z = 0.2 / sqrt(0.5 * 0.5 * 0.02) = 2.828...
    t = arms.two_proportions(60, 100, 40, 100)
    assert t.statistic == pytest.approx(2.8284271, rel=1e-6)
    assert t.pvalue == pytest.approx(0.004677735, rel=1e-5)
    low, high = arms.wilson(45, 50)
    assert (round(low, 4), round(high, 4)) == (0.7864, 0.9565)
