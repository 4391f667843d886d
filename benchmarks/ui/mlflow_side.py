"""MLflow's side of the UI benchmark, run by the MLflow venv's interpreter:

    python mlflow_side.py --home DIR --runs N --api-budget SECONDS [--api-cap M]

1. Logs runs (benchmarks/ui/data.py) into `sqlite:///DIR/mlflow.db` through MLflow's public
   API, the fastest path it gives a client (tracking benchmark's `log_runs`: per run
   `create_run` + one `log_batch` + `set_terminated`), until M runs or SECONDS have passed.
2. Inserts the rest, up to N, straight into MLflow's tables (its own SQLAlchemy table
   definitions, one transaction per 5,000 runs), row for row what the API wrote for the first
   runs (the same run columns, the `mlflow.runName` tag, params, metrics, latest metrics, tags);
   this is how Relay's side is populated too.
3. Starts `mlflow server` on that database (tracking benchmark's `mlflow_server`), prints one
   `RESULT {json}` line (URL, experiment id, timings) and keeps serving until stdin closes.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from itertools import islice
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tracking"))
sys.path.insert(0, str(HERE))
import data  # noqa: E402
import mlflow  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
from common import emit, progress  # noqa: E402
from mlflow.tracking import MlflowClient  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
from mlflow_workload import log_runs, mlflow_server  # noqa: E402

BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z, as log_runs
CHUNK = 5000


def bulk_insert(uri: str, exp_id: str, artifact_root: str, rows: Any, total: int) -> int:
    from mlflow.store.tracking.dbmodels import models as m  # type: ignore[import-not-found, unused-ignore]
    from sqlalchemy import create_engine, insert  # type: ignore[import-not-found, unused-ignore]

    engine = create_engine(uri)
    done = 0
    while batch := list(islice(rows, CHUNK)):
        runs, tags, params, points = [], [], [], []
        for i, p, mets, t in batch:
            rid = uuid.uuid4().hex
            ts = BASE_MS + i * 1000
            runs.append(
                {
                    "run_uuid": rid,
                    "name": f"run-{i}",
                    "source_type": "UNKNOWN",
                    "source_name": "",
                    "entry_point_name": "",
                    "user_id": "unknown",
                    "status": "FINISHED",
                    "start_time": ts,
                    "end_time": ts + 1000,
                    "source_version": "",
                    "lifecycle_stage": "active",
                    "artifact_uri": f"{artifact_root}/{rid}/artifacts",
                    "experiment_id": int(exp_id),
                    "deleted_time": None,
                }
            )
            tags.append({"key": "mlflow.runName", "value": f"run-{i}", "run_uuid": rid})
            tags += [{"key": k, "value": v, "run_uuid": rid} for k, v in t.items()]
            params += [{"key": k, "value": v, "run_uuid": rid} for k, v in p.items()]
            points += [
                {
                    "key": k,
                    "value": v,
                    "timestamp": ts,
                    "run_uuid": rid,
                    "step": 0,
                    "is_nan": False,
                }
                for k, v in mets.items()
            ]
        with engine.begin() as conn:
            conn.execute(insert(m.SqlRun.__table__), runs)
            conn.execute(insert(m.SqlTag.__table__), tags)
            conn.execute(insert(m.SqlParam.__table__), params)
            conn.execute(insert(m.SqlMetric.__table__), points)
            conn.execute(insert(m.SqlLatestMetric.__table__), points)
        done += len(batch)
        progress(f"mlflow ui: inserted {done}/{total} runs")
    engine.dispose()
    return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--api-budget", type=float, required=True)
    ap.add_argument("--api-cap", type=int, default=None)
    args = ap.parse_args()
    home: Path = args.home
    uri = f"sqlite:///{home / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient()
    artifact_root = (home / "mlartifacts").as_uri()
    exp_id = client.create_experiment(data.EXPERIMENT, artifact_location=artifact_root)
    rows = data.rows(args.runs)
    cap = min(args.runs, args.api_cap or args.runs)
    t0 = time.perf_counter()
    logged = log_runs(client, exp_id, islice(rows, cap), cap, "ui", args.api_budget)
    api_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    inserted = bulk_insert(uri, exp_id, artifact_root, rows, args.runs - logged)
    bulk_s = time.perf_counter() - t0
    newest = client.search_runs([exp_id], max_results=1, order_by=["attributes.start_time DESC"])
    assert newest[0].info.run_name == f"run-{args.runs - 1}", newest
    t0 = time.perf_counter()
    with mlflow_server(home) as url:
        emit(
            {
                "url": url,
                "experiment_id": exp_id,
                "runs": logged + inserted,
                "api_runs": logged,
                "api_s": api_s,
                "api_budget_s": args.api_budget,
                "bulk_runs": inserted,
                "bulk_s": bulk_s,
                "server_startup_s": time.perf_counter() - t0,
                "mlflow": mlflow.__version__,
            }
        )
        sys.stdin.read()  # serve until the benchmark closes our stdin


if __name__ == "__main__":
    main()
