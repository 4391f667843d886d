"""MLflow's side of the registry benchmark, run by run.py with the MLflow venv's interpreter in
a fresh process and a fresh directory (`--home`): tracking and registry in a local SQLite file,
artifacts in a local folder, no server.

    register --home H --versions 50    per version: a run, log_model + register, once with
                                       MLflow's default (pip requirement inference) and once
                                       with explicit pip_requirements; then champion -> v1
"""

from __future__ import annotations

import argparse
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
from common import MODEL, emit, median, pipelines, progress
from mlflow import MlflowClient


def register(home: Path, versions: int, budget: float) -> dict[str, Any]:
    mlflow.set_tracking_uri(f"sqlite:///{home / 'mlflow.db'}")
    mlflow.set_experiment("registry-bench")
    frame, fitted = pipelines(versions + 1)
    X = frame.drop(columns="target")
    frame.head(5).drop(columns="target").to_csv(home / "X.csv", index=False)
    explicit = [f"scikit-learn=={version('scikit-learn')}", f"pandas=={version('pandas')}"]
    out: dict[str, Any] = {"versions": versions, "explicit_requirements": explicit}
    for path, name, extra in (
        ("default", MODEL, {}),
        ("explicit", f"{MODEL}_explicit", {"pip_requirements": explicit}),
    ):
        blocks: list[float] = []
        calls: list[float] = []
        start = time.perf_counter()
        for i, model in enumerate(fitted):
            if i > 1 and time.perf_counter() - start + blocks[-1] > budget:
                break  # finishing would exceed the budget: per-version figures over those done
            t0 = time.perf_counter()
            with mlflow.start_run():
                t1 = time.perf_counter()
                info = mlflow.sklearn.log_model(
                    model, name="model", input_example=X[:5], registered_model_name=name, **extra
                )
                t2 = time.perf_counter()
            t3 = time.perf_counter()
            if i:  # the first is a warm-up
                calls.append(t2 - t1)
                blocks.append(t3 - t0)
        assert int(info.registered_model_version) == len(calls) + 1, info.registered_model_version
        progress(
            f"mlflow {path}: {len(calls)} versions, log_model + register median "
            f"{median(calls):.3f} s, run + both median {median(blocks):.3f} s"
        )
        out[path] = {"call_s": calls, "block_s": blocks, "versions": len(calls)}
    MlflowClient().set_registered_model_alias(MODEL, "champion", "1")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["register"])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--versions", type=int, default=50)
    ap.add_argument("--budget", type=float, default=900.0, help="seconds per path, at most")
    args = ap.parse_args()
    emit(register(args.home, args.versions, args.budget))


if __name__ == "__main__":
    main()
