"""A run's params, tags and latest metrics as one JSON document on its `runs` row.

The `params`, `tags` and `latest_metrics` tables stay the truth that search filters and orders
on; the summary is what a page of runs is read from, so a search is one statement whatever the
page size (benchmarks/RESULTS.md, search). Every write to those tables rewrites the summary in the
same transaction.

JSON has no NaN or infinities, so those metric values are stored as the strings "NaN",
"Infinity" and "-Infinity"; every other value is a JSON number that round-trips exactly.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

EMPTY = '{"params":{},"tags":{},"metrics":{}}'


def _metric_out(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def encode(params: dict[str, str], tags: dict[str, str], metrics: dict[str, float]) -> str:
    doc = {
        "params": params,
        "tags": tags,
        "metrics": {k: _metric_out(v) for k, v in metrics.items()},
    }
    return orjson.dumps(doc).decode()


def decode(text: str) -> tuple[dict[str, str], dict[str, str], dict[str, float]]:
    doc: dict[str, Any] = orjson.loads(text)
    metrics: dict[str, float] = doc["metrics"]
    for k, v in metrics.items():
        if isinstance(v, str):
            metrics[k] = float(v)
    return doc["params"], doc["tags"], metrics
