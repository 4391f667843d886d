"""A run's params, tags and latest metrics as one JSON document on its `runs` row.

The `params`, `tags` and `latest_metrics` tables stay the truth that search filters and orders
on; the summary is what a page of runs is read from, so a search is one statement whatever the
page size (benchmarks/RESULTS.md, search). Every write to those tables rewrites the summary in the
same transaction.

JSON has no NaN or infinities: metric values are stored as the wire carries them
(`domain.numbers.encode_float`: the strings "NaN", "Infinity", "-Infinity"; every other value a
JSON number that round-trips exactly).
"""

from __future__ import annotations

from typing import Any

import orjson

from relayml.domain.numbers import encode_float

EMPTY = '{"params":{},"tags":{},"metrics":{}}'


def encode(params: dict[str, str], tags: dict[str, str], metrics: dict[str, float]) -> str:
    doc = {
        "params": params,
        "tags": tags,
        "metrics": {k: encode_float(v) for k, v in metrics.items()},
    }
    return orjson.dumps(doc).decode()


def decode(text: str) -> tuple[dict[str, str], dict[str, str], dict[str, float]]:
    doc: dict[str, Any] = orjson.loads(text)
    metrics: dict[str, float] = doc["metrics"]
    if '"NaN"' in text or 'Infinity"' in text:  # else every metric is a number: skip the scan
        for k, v in metrics.items():
            if isinstance(v, str):
                metrics[k] = float(v)
    return doc["params"], doc["tags"], metrics
