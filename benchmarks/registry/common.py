"""What both sides of the registry benchmark share (imported by Relay's and MLflow's workload
scripts, so it uses only the standard library, NumPy, pandas and scikit-learn)."""

from __future__ import annotations

import json
import statistics
import sys
from typing import Any

RESULT_PREFIX = "RESULT "
MODEL = "churn"


def pipelines(n: int) -> tuple[Any, list[Any]]:
    """`n` fitted StandardScaler + LogisticRegression pipelines on scikit-learn's bundled
    breast_cancer data, each with its own C, so no two artifacts are the same bytes."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    fitted = [
        make_pipeline(StandardScaler(), LogisticRegression(C=0.05 + 0.02 * i, max_iter=500)).fit(
            X, y
        )
        for i in range(n)
    ]
    return X.assign(target=y), fitted


def median(values: list[float]) -> float:
    return statistics.median(values)


def emit(result: dict[str, Any]) -> None:
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def progress(msg: str) -> None:
    print("    " + msg, file=sys.stderr, flush=True)
