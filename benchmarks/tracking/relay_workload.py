"""Relay's side of the tracking benchmark, run by Relay's own interpreter in a fresh temp dir.

    python relay_workload.py log --mode embedded|http --home DIR --spec JSON
    python relay_workload.py search --home DIR --runs N --reps R

Prints progress on stderr and one `RESULT {json}` line on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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

import relayml as relay

PROJECT = "bench"


@contextlib.contextmanager
def connect(mode: str, home: Path) -> Iterator[dict[str, Any]]:
    """Initialise the SDK against embedded SQLite or a freshly started `relay` server."""
    if mode == "embedded":
        relay.init(project=PROJECT, home=home / "relay")
        yield {"backend": "embedded SQLite"}
        return
    from relayml.testing.server import running_server

    t0 = time.perf_counter()
    with running_server(home / "relay") as info:
        startup = time.perf_counter() - t0
        progress(f"relay server up at {info.url} in {startup:.1f}s")
        relay.init(project=PROJECT, server=info.url, token=info.admin_token)
        yield {"backend": f"relay server ({info.url})", "server_startup_s": startup}


def log_one(spec: LogSpec, r: int, steps: int, artifacts: list[Path], experiment: str) -> str:
    names = metric_names(spec)
    with relay.start_run(experiment=experiment, name=f"run-{r}") as run:
        run.log_params(run_params(spec, r))
        for step in range(steps):
            for m, key in enumerate(names):
                run.log_metric(key, metric_value(m, step), step=step)
        for a in artifacts:
            run.log_artifact(a)
    # The `with` has ended: every point is flushed and the run is finished, in the database.
    return str(run.id)


def log_workload(mode: str, home: Path, spec: LogSpec, warmup_steps: int) -> dict[str, Any]:
    artifacts = make_artifacts(spec, home / "files")
    with connect(mode, home) as info:
        if warmup_steps:
            log_one(spec, -1, warmup_steps, artifacts, "warmup")
        run_ids: list[str] = []
        t0 = time.perf_counter()
        for r in range(spec.runs):
            run_ids.append(log_one(spec, r, spec.steps, artifacts, "logging"))
            elapsed = time.perf_counter() - t0
            if (r + 1) % 10 == 0 or r + 1 == spec.runs:
                progress(f"relay {mode}: {r + 1}/{spec.runs} runs, {elapsed:.2f}s")
            if r + 1 < spec.runs and elapsed / (r + 1) * (r + 2) > spec.budget_s:
                progress(f"relay {mode}: stopping at {r + 1} runs (time budget)")
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
    }


def verify_logged(run_ids: list[str], spec: LogSpec) -> None:
    """Read back the first and last run: everything logged must be there."""
    for run_id in {run_ids[0], run_ids[-1]}:
        run = relay.get_run(run_id)
        assert run.status.value == "finished", run.status
        assert len(run.params) == spec.params, run.params
        for key in metric_names(spec):
            n = len(run.metric_history(key))
            assert n == spec.steps, f"{key}: {n} points, expected {spec.steps}"
        assert len(run.list_artifacts()) == spec.artifacts


def populate(n: int) -> None:
    """Bulk-insert `n` finished runs straight through the store (population only)."""
    insert_runs("search", ((i, p, m, {}) for i, p, m in search_rows(n)), n)


Row = tuple[int, dict[str, str], dict[str, float], dict[str, str]]


def insert_runs(experiment: str, rows: Iterable[Row], total: int, chunk: int = 5000) -> None:
    """Bulk-insert finished runs `(index, params, latest metrics, tags)` into `experiment` of
    the current session's project, straight through the store, `chunk` runs a transaction (for
    populating benchmarks only: the runs, params, tags, metrics and latest-metrics rows and the
    summary a page of runs is read from, as the services would write them). Run `i` is named
    `run-{i}` and started at 2026-01-01 + i seconds."""
    from relayml.sdk import session as sdk_session
    from relayml.store.sql import schema as s
    from relayml.store.sql import summary

    sess = sdk_session.current()
    services = sess.backend.services  # type: ignore[attr-defined]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with services.store.write() as tx:
        exp_id = tx.tracking.ensure_experiment(sess.project, experiment, sess.user, base)
    done = 0
    for batch in batched(rows, chunk):
        run_rows: list[dict[str, Any]] = []
        param_rows: list[dict[str, Any]] = []
        tag_rows: list[dict[str, Any]] = []
        point_rows: list[dict[str, Any]] = []
        for i, params, metrics, tags in batch:
            run_id = uuid.uuid4().hex
            start = base + timedelta(seconds=i)
            run_rows.append(
                {
                    "id": run_id,
                    "experiment_id": exp_id,
                    "name": f"run-{i}",
                    "status": "finished",
                    "user": sess.user,
                    "start_time": start,
                    "end_time": start + timedelta(seconds=1),
                    "parent_id": None,
                    "summary": summary.encode(params, tags, metrics),
                }
            )
            ts = int(start.timestamp() * 1000)
            param_rows += [{"run_id": run_id, "key": k, "value": v} for k, v in params.items()]
            tag_rows += [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()]
            point_rows += [
                {"run_id": run_id, "key": k, "value": v, "step": 0, "timestamp": ts}
                for k, v in metrics.items()
            ]
        with services.store.write() as tx:
            tx.conn.execute(s.runs.insert(), run_rows)
            if param_rows:
                tx.conn.execute(s.params.insert(), param_rows)
            if tag_rows:
                tx.conn.execute(s.tags.insert(), tag_rows)
            if point_rows:
                tx.conn.execute(s.metrics.insert(), point_rows)
                tx.conn.execute(s.latest_metrics.insert(), point_rows)
        done += len(batch)
        progress(f"relay {experiment}: populated {done}/{total} runs")


def batched(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def search_workload(home: Path, n: int, reps: int, populated: bool) -> dict[str, Any]:
    relay.init(project=PROJECT, home=home / "relay")
    t0 = time.perf_counter()
    if not populated:
        populate(n)
    populate_s = time.perf_counter() - t0
    want = expected_matches(n)

    def filtered() -> Any:
        return relay.search_runs(experiment="search", filter=SEARCH_FILTER, limit=SEARCH_LIMIT)

    def ordered() -> Any:
        return relay.search_runs(
            experiment="search", filter=SEARCH_FILTER, order_by=SEARCH_ORDER, limit=SEARCH_LIMIT
        )

    f_times, f_runs = timed_reps(filtered, reps)
    o_times, o_runs = timed_reps(ordered, reps)
    assert len(f_runs) == want, f"filter returned {len(f_runs)} runs, expected {want}"
    assert len(o_runs) == want, f"filter+order returned {len(o_runs)} runs, expected {want}"
    accs = [r.metrics["acc"] for r in o_runs]
    assert accs == sorted(accs, reverse=True), "results not ordered by metrics.acc DESC"
    assert all(r.params["model"] == "lr" and r.metrics["acc"] > 0.5 for r in o_runs)
    progress(
        f"relay search over {n} runs: filter {median(f_times) * 1000:.1f} ms, "
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
