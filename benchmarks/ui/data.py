"""The runs the UI benchmark shows, identical for Relay and MLflow (standard library only: both
venvs import it).

Each run has 8 params, 6 metrics and 3 tags drawn from a seeded generator, so the table has
varied columns, a filter selects a fraction of the runs, and the first row of any filtered and
sorted view is known in advance (the benchmark checks that the browser shows it).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

EXPERIMENT = "ui"
FILTER = "metrics.acc > 0.5 and params.model = 'lr'"
SORT_METRIC = "acc"
MODELS = ("lr", "rf", "gb", "svm", "mlp")
TEAMS = ("risk", "growth", "ops", "research")

Row = tuple[int, dict[str, str], dict[str, float], dict[str, str]]


def rows(n: int, seed: int = 20261201) -> Iterator[Row]:
    """(index, params, latest metrics, tags) for runs 0..n-1."""
    rng = random.Random(seed)
    for i in range(n):
        acc = rng.random()
        params = {
            "model": MODELS[i % len(MODELS)],
            "lr": f"{10 ** rng.uniform(-4, -1):.5f}",
            "depth": str(rng.randint(2, 12)),
            "n_estimators": str(rng.choice((50, 100, 200, 500))),
            "batch_size": str(rng.choice((32, 64, 128, 256))),
            "optimizer": rng.choice(("adam", "sgd", "rmsprop")),
            "features": str(rng.randint(5, 60)),
            "seed": str(i),
        }
        metrics = {
            "acc": acc,
            "auc": min(1.0, acc * 0.5 + rng.random() * 0.5),
            "f1": rng.random(),
            "loss": rng.random() * 2,
            "precision": rng.random(),
            "recall": rng.random(),
        }
        tags = {
            "team": TEAMS[i % len(TEAMS)],
            "dataset": f"loans@{1 + i % 7}",
            "stage": "review" if i % 10 == 0 else "dev",
        }
        yield i, params, metrics, tags


def newest(n: int, filtered: bool = False) -> str:
    """The run a view sorted newest first starts with (of the filter's runs, if `filtered`)."""
    if not filtered:
        return f"run-{n - 1}"
    return f"run-{max(i for i, p, m, _ in rows(n) if _matches(p, m))}"


def best(n: int, filtered: bool = False) -> str:
    """The run a view sorted by acc, highest first, starts with."""
    _, i = max((m["acc"], i) for i, p, m, _ in rows(n) if not filtered or _matches(p, m))
    return f"run-{i}"


def _matches(params: dict[str, str], metrics: dict[str, float]) -> bool:
    return metrics["acc"] > 0.5 and params["model"] == "lr"


def matches(n: int) -> int:
    return sum(1 for _, p, m, _ in rows(n) if _matches(p, m))
