"""What both sides of the tracking benchmark do, shared so Relay and MLflow see identical work.

Standard library only: it is imported by the Relay workload (Relay's venv) and by the MLflow
workload (a separate venv with MLflow), each run as a script from this directory.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULT_PREFIX = "RESULT "
SEARCH_FILTER = "metrics.acc > 0.5 and params.model = 'lr'"
SEARCH_ORDER = ["metrics.acc DESC"]
SEARCH_LIMIT = 1000
MODELS = ("lr", "rf", "gb", "svm")


@dataclass(frozen=True)
class LogSpec:
    runs: int = 50
    params: int = 20
    metrics: int = 5
    steps: int = 200
    artifacts: int = 3
    artifact_bytes: int = 1024
    budget_s: float = 600.0  # stop early (and say so) when finishing would take longer

    @property
    def points_per_run(self) -> int:
        return self.metrics * self.steps

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LogSpec:
        return cls(**json.loads(text))


def run_params(spec: LogSpec, run: int) -> dict[str, str]:
    return {f"param_{i:02d}": f"value-{run}-{i}" for i in range(spec.params)}


def metric_value(metric: int, step: int) -> float:
    return math.sin(step * 0.05 + metric) + step * 0.001


def metric_names(spec: LogSpec) -> list[str]:
    return [f"metric_{i}" for i in range(spec.metrics)]


def make_artifacts(spec: LogSpec, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(spec.artifacts):
        p = directory / f"artifact_{i}.txt"
        p.write_bytes(bytes((i * 7 + j) % 256 for j in range(spec.artifact_bytes)))
        out.append(p)
    return out


def search_rows(
    n: int, seed: int = 20261127
) -> Iterator[tuple[int, dict[str, str], dict[str, float]]]:
    """The runs the search benchmark populates: (index, params, latest metrics)."""
    rng = random.Random(seed)
    for i in range(n):
        params = {"model": MODELS[i % len(MODELS)], "seed": str(i), "lr": f"{rng.random():.4f}"}
        metrics = {"acc": rng.random(), "loss": rng.random() * 2, "f1": rng.random()}
        yield i, params, metrics


def expected_matches(n: int) -> int:
    """How many of `search_rows(n)` the benchmark filter selects (capped at the page size)."""
    hits = sum(1 for _, p, m in search_rows(n) if m["acc"] > 0.5 and p["model"] == "lr")
    return min(hits, SEARCH_LIMIT)


def median(xs: list[float]) -> float:
    s = sorted(xs)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def timed_reps(fn: Any, reps: int) -> tuple[list[float], Any]:
    times: list[float] = []
    out = None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def progress(msg: str) -> None:
    print(f"    {msg}", file=sys.stderr, flush=True)


def emit(result: dict[str, Any]) -> None:
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def quiet_env() -> dict[str, str]:
    """Environment for anything MLflow: no telemetry, no network lookups."""
    env = dict(os.environ)
    env.update(
        {
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
            "MLFLOW_TRACKING_INSECURE_TLS": "false",
            "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
            "GIT_PYTHON_REFRESH": "quiet",
            "PYTHONWARNINGS": "ignore",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(var, None)
    return env
