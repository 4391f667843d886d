"""MLflow's side of the tracking benchmark, run by the MLflow venv's interpreter in a temp dir.

    python mlflow_workload.py log --mode embedded|http --home DIR --spec JSON
    python mlflow_workload.py search --home DIR --runs N --reps R

The same work as relay_workload.py through MLflow's public API: `sqlite:///` tracking URI with a
local artifact directory, or an `mlflow server` on SQLite started here on a free loopback port.
Prints progress on stderr and one `RESULT {json}` line on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import mlflow  # type: ignore[import-not-found, unused-ignore]
from common import (
    SEARCH_FILTER,
    SEARCH_LIMIT,
    SEARCH_ORDER,
    LogSpec,
    emit,
    expected_matches,
    make_artifacts,
    median,
    metric_names,
    metric_value,
    progress,
    run_params,
    search_rows,
    timed_reps,
)
from mlflow.entities import Metric, Param  # type: ignore[import-not-found, unused-ignore]
from mlflow.tracking import MlflowClient  # type: ignore[import-not-found, unused-ignore]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def mlflow_server(home: Path) -> Iterator[str]:
    """`mlflow server` on SQLite with proxied artifacts, on 127.0.0.1; yields its URL."""
    port = free_port()
    cmd = [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{home / 'mlflow.db'}",
        "--artifacts-destination",
        str(home / "mlartifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    log = open(home / "mlflow-server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        cmd, cwd=home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"mlflow server exited with {proc.returncode}; see {home}/mlflow-server.log"
                )
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server not healthy after 180s; see {home}")
            time.sleep(0.2)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@contextlib.contextmanager
def connect(mode: str, home: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Point MLflow at SQLite or a fresh server; yields (experiment id, info)."""
    if mode == "embedded":
        mlflow.set_tracking_uri(f"sqlite:///{home / 'mlflow.db'}")
        exp_id = mlflow.create_experiment(
            "logging", artifact_location=(home / "artifacts").as_uri()
        )
        yield exp_id, {"backend": "sqlite:/// + local artifact dir"}
        return
    t0 = time.perf_counter()
    with mlflow_server(home) as url:
        startup = time.perf_counter() - t0
        progress(f"mlflow server up at {url} in {startup:.1f}s")
        mlflow.set_tracking_uri(url)
        exp_id = mlflow.create_experiment("logging")
        yield exp_id, {"backend": f"mlflow server ({url})", "server_startup_s": startup}


def log_one(spec: LogSpec, r: int, steps: int, artifacts: list[Path]) -> str:
    names = metric_names(spec)
    with mlflow.start_run(run_name=f"run-{r}") as run:
        mlflow.log_params(run_params(spec, r))
        for step in range(steps):
            for m, key in enumerate(names):
                mlflow.log_metric(key, metric_value(m, step), step=step)
        for a in artifacts:
            mlflow.log_artifact(str(a))
    return str(run.info.run_id)


def log_workload(mode: str, home: Path, spec: LogSpec, warmup_steps: int) -> dict[str, Any]:
    artifacts = make_artifacts(spec, home / "files")
    with connect(mode, home) as (exp_id, info):
        if warmup_steps:
            mlflow.set_experiment("warmup")
            log_one(spec, -1, warmup_steps, artifacts)
        mlflow.set_experiment(experiment_id=exp_id)
        run_ids: list[str] = []
        t0 = time.perf_counter()
        for r in range(spec.runs):
            run_ids.append(log_one(spec, r, spec.steps, artifacts))
            elapsed = time.perf_counter() - t0
            if (r + 1) % 5 == 0 or r + 1 == spec.runs or mode == "http":
                progress(f"mlflow {mode}: {r + 1}/{spec.runs} runs, {elapsed:.1f}s")
            if r + 1 < spec.runs and elapsed / (r + 1) * (r + 2) > spec.budget_s:
                progress(f"mlflow {mode}: stopping at {r + 1} runs (time budget)")
                break
        total = time.perf_counter() - t0
        verify_logged(run_ids, spec)
    return {
        **info,
        "runs": len(run_ids),
        "requested_runs": spec.runs,
        "budget_s": spec.budget_s,
        "seconds": total,
        "per_run_s": total / len(run_ids),
        "points_per_s": len(run_ids) * spec.points_per_run / total,
        "mlflow": mlflow.__version__,
    }


def verify_logged(run_ids: list[str], spec: LogSpec) -> None:
    client = MlflowClient()
    for run_id in {run_ids[0], run_ids[-1]}:
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED", run.info.status
        assert len(run.data.params) == spec.params, run.data.params
        for key in metric_names(spec):
            n = len(client.get_metric_history(run_id, key))
            assert n == spec.steps, f"{key}: {n} points, expected {spec.steps}"
        assert len(client.list_artifacts(run_id)) == spec.artifacts


def populate(client: Any, exp_id: str, n: int) -> None:
    """n finished runs, each with one log_batch of its params and metrics."""
    log_runs(client, exp_id, ((i, p, m, {}) for i, p, m in search_rows(n)), n, "search")


Row = tuple[int, dict[str, str], dict[str, float], dict[str, str]]


def log_runs(
    client: Any,
    exp_id: str,
    rows: Iterable[Row],
    total: int,
    label: str,
    budget_s: float | None = None,
) -> int:
    """Log finished runs `(index, params, latest metrics, tags)` through MLflow's public API,
    the fastest path it offers a client (per run: `create_run`, one `log_batch` of everything,
    `set_terminated`); run `i` is `run-{i}`, started at 2026-01-01 + i seconds. Stops once
    `budget_s` seconds have passed; returns how many runs it logged."""
    from mlflow.entities import RunTag  # type: ignore[import-not-found, unused-ignore]

    base_ms = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    t0 = time.perf_counter()
    done = 0
    for i, params, metrics, tags in rows:
        ts = base_ms + i * 1000
        run = client.create_run(exp_id, start_time=ts, run_name=f"run-{i}")
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, ts, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        client.set_terminated(run.info.run_id, "FINISHED", end_time=ts + 1000)
        done += 1
        if done % 500 == 0 or done == total:
            progress(f"mlflow {label}: logged {done}/{total} runs")
        if budget_s is not None and time.perf_counter() - t0 > budget_s:
            progress(f"mlflow {label}: stopping at {done} runs (time budget {budget_s:.0f} s)")
            break
    return done


def search_workload(home: Path, n: int, reps: int, populated: bool) -> dict[str, Any]:
    mlflow.set_tracking_uri(f"sqlite:///{home / 'mlflow.db'}")
    client = MlflowClient()
    t0 = time.perf_counter()
    if populated:
        exp_id = client.get_experiment_by_name("search").experiment_id
    else:
        artifacts = (home / "artifacts").as_uri()
        exp_id = client.create_experiment("search", artifact_location=artifacts)
        populate(client, exp_id, n)
    populate_s = time.perf_counter() - t0
    want = expected_matches(n)

    def filtered() -> Any:
        return client.search_runs([exp_id], filter_string=SEARCH_FILTER, max_results=SEARCH_LIMIT)

    def ordered() -> Any:
        return client.search_runs(
            [exp_id], filter_string=SEARCH_FILTER, order_by=SEARCH_ORDER, max_results=SEARCH_LIMIT
        )

    f_times, f_runs = timed_reps(filtered, reps)
    o_times, o_runs = timed_reps(ordered, reps)
    assert len(f_runs) == want, f"filter returned {len(f_runs)} runs, expected {want}"
    assert len(o_runs) == want, f"filter+order returned {len(o_runs)} runs, expected {want}"
    accs = [r.data.metrics["acc"] for r in o_runs]
    assert accs == sorted(accs, reverse=True), "results not ordered by metrics.acc DESC"
    progress(
        f"mlflow search over {n} runs: filter {median(f_times) * 1000:.1f} ms, "
        f"filter+order {median(o_times) * 1000:.1f} ms (median of {reps})"
    )
    return {
        "runs": n,
        "matches": want,
        "populate_s": populate_s,
        "filter_s": median(f_times),
        "order_s": median(o_times),
        "filter_all_s": f_times,
        "order_all_s": o_times,
        "mlflow": mlflow.__version__,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    lg = sub.add_parser("log")
    lg.add_argument("--mode", choices=["embedded", "http"], required=True)
    lg.add_argument("--home", type=Path, required=True)
    lg.add_argument("--spec", required=True)
    lg.add_argument("--warmup-steps", type=int, default=0)
    se = sub.add_parser("search")
    se.add_argument("--home", type=Path, required=True)
    se.add_argument("--runs", type=int, required=True)
    se.add_argument("--reps", type=int, default=7)
    se.add_argument(
        "--populated", action="store_true", help="HOME holds an earlier round's runs: measure only"
    )
    args = ap.parse_args()
    if args.cmd == "log":
        emit(log_workload(args.mode, args.home, LogSpec.from_json(args.spec), args.warmup_steps))
    else:
        emit(search_workload(args.home, args.runs, args.reps, args.populated))


if __name__ == "__main__":
    main()
