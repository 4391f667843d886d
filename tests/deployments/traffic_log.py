"""Prediction-log segments in the documented schema (docs/serving.md) for traffic tests: one
request of `rows` rows per answer time, on one arm and version, with its latency."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pyarrow as pa


def log_table(
    deployment: str,
    project: str,
    arm: str,
    version: int,
    times: Sequence[datetime],
    latencies: Sequence[float],
    rows: Sequence[int],
    prefix: str = "r",
) -> pa.Table:
    n = int(sum(rows))
    request = [f"{prefix}-{arm}-{i}" for i, k in enumerate(rows) for _ in range(k)]
    ts = [t for t, k in zip(times, rows, strict=True) for _ in range(k)]
    lat = [x for x, k in zip(latencies, rows, strict=True) for _ in range(k)]
    return pa.table(
        {
            "prediction_id": [f"{r}-{j}" for j, r in enumerate(request)],
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "deployment": [deployment] * n,
            "project": [project] * n,
            "model": ["churn"] * n,
            "version": pa.array([version] * n, pa.int64()),
            "digest": [f"{version:064x}"] * n,
            "arm": [arm] * n,
            "request_id": request,
            "inputs": pa.StructArray.from_arrays([pa.array(np.arange(n, dtype=float))], ["x1"]),
            "prediction": pa.array(np.zeros(n, dtype=np.int64)),
            "probabilities": pa.array([None] * n, pa.struct([("0", pa.float64())])),
            "latency_ms": pa.array(lat, pa.float64()),
        }
    )
