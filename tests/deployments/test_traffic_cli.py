"""`relay deployments traffic NAME` and `relay.deployments.traffic`: the same numbers as the
service, as a terminal reads them (a line of bars per arm, a latency table) and as --json (the
REST wire model)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

import relayml as relay
from relayml.sdk import session
from tests.cli.conftest import Relay
from tests.deployments.traffic_log import log_table


def test_the_cli_and_the_sdk_show_requests_and_latency_per_arm(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    home = tmp_path / ".relay"
    relay.init("churn", home=home)
    X = pd.DataFrame({"x1": np.arange(20.0)})
    for _ in range(2):
        relay.models.register("churn", LogisticRegression().fit(X, X.x1 > 9), input_example=X[:2])
    relay.deployments.create("churn-api", "churn@1")
    relay.deployments.set_traffic("churn-api", canary="churn@2", canary_percent=25)
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    for seq, (arm, version, n, latency) in enumerate(
        [("primary", 1, 12, 4.0), ("canary", 2, 3, 9.0)]
    ):
        times = [minute - timedelta(minutes=1 + i % 5) for i in range(n)]
        table = log_table("churn-api", "churn", arm, version, times, [latency] * n, [2] * n)
        path = tmp_path / f"{arm}.parquet"
        pq.write_table(table, path)
        ts = table["ts"].to_pylist()
        relay.deployments.record_segment(
            "churn-api", path, uri=f"serving/churn/churn-api/d/s-{seq}.parquet",
            records=table.num_rows, first_at=min(ts), last_at=max(ts), server_id="s",
        )  # fmt: skip
    found = relay.deployments.traffic("churn-api", minutes=30)
    assert (found.requests, found.rows, found.complete) == (15, 30, True)
    assert [(a.arm, a.version, a.requests) for a in found.arms] == [
        ("primary", 1, 12), ("canary", 2, 3),
    ]  # fmt: skip
    session.reset()

    cli = Relay(home)
    shown = cli("deployments", "traffic", "churn-api", "-p", "churn")
    assert shown.code == 0, shown.err
    assert "churn-api: 15 requests (30 rows) in the last 60 minutes" in shown.out
    lines = shown.out.splitlines()
    bars = {line.split()[0]: line for line in lines[1:4]}
    assert list(bars) == ["per", "primary", "canary"], shown.out
    assert bars["primary"].rstrip().endswith(" 12") and bars["canary"].rstrip().endswith(" 3")
    assert set(bars["canary"].split()[1]) <= set("·▁▂▃▄▅▆▇█")
    cells = [line.replace("│", " ").split() for line in lines[4:]]
    assert ["canary", "2", "3", "6", "9", "9", "9"] in cells, shown.out
    as_json = cli("deployments", "traffic", "churn-api", "-p", "churn", "--json", "--minutes", "10")
    body = json.loads(as_json.out)
    assert body["minutes"] == 10 and len(body["per_minute"]["primary"]) == 10
    assert sum(body["per_minute"]["canary"]) == 3
    assert body["arms"][1]["latency_ms"] == {"p50": 9.0, "p95": 9.0, "p99": 9.0}
    bad = cli("deployments", "traffic", "churn-api", "-p", "churn", "--minutes", "0")
    assert bad.code != 0 and "minutes must be a whole number from 1 to 1440" in bad.err
    none = cli("deployments", "traffic", "nope", "-p", "churn")
    assert none.code == 5
