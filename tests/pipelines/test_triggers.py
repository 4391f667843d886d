"""Pipelines started by the publication of a dataset version (`on_publish`), through the
scheduler: one run per new usable version, the version handed to the pipeline as `dataset`,
and each version started once however many scheduler processes race for it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyarrow as pa

from relayml.client.base import Backend
from relayml.domain.datasets import DatasetStatus, DatasetVersion
from relayml.domain.pipelines import PipelineRun, Trigger
from relayml.domain.tracking import RunStatus
from relayml.pipelines import scheduler, worker_env
from relayml.pipelines.runner import register
from relayml.sdk.session import connect
from relayml.tables.parquet import write_normalized
from tests.conftest import settings_for
from tests.pipelines.conftest import WriteModule

REPO = Path(__file__).resolve().parents[2]

WATCHER = """
import relayml as relay

@relay.step
def rows(dataset: str) -> int:
    return relay.datasets.get(dataset).record.rows

@relay.pipeline(on_publish="loans")
def retrain(dataset: str = "loans"):
    rows(dataset)
"""

POSITIVE = "columns:\n  amount:\n    type: float64\n    min: 0\n"


def publish(
    backend: Backend, tmp: Path, amounts: list[float], contract: str | None = None
) -> DatasetVersion:
    path = tmp / f"{uuid.uuid4().hex}.parquet"
    write_normalized(pa.table({"amount": amounts}), path, None)
    return backend.datasets.publish("etl", "loans", path, contract=contract)


def rows_of(run: PipelineRun) -> object:
    output = run.step("rows").output
    assert output is not None, run.step("rows").error
    return output.value


def test_each_new_usable_version_starts_one_run(
    backend: Backend, write_module: WriteModule, tmp_path: Path
) -> None:
    env = worker_env(settings_for(tmp_path / "home"))
    publish(backend, tmp_path, [1.0])  # published before the trigger: never starts it
    register(backend, write_module(WATCHER) + ":retrain", "etl")
    assert scheduler.tick(backend, env=env) == []

    publish(backend, tmp_path, [1.0, 2.0])
    (outcome,) = scheduler.tick(backend, env=env)
    run = outcome.run
    assert outcome.dataset == "loans@2" and outcome.slot is None and run is not None
    assert run.status is RunStatus.FINISHED, run.error
    assert (run.trigger, run.dataset, run.params["dataset"]) == (
        Trigger.DATASET,
        "loans@2",
        "loans@2",
    )
    assert rows_of(run) == 2
    assert scheduler.tick(backend, env=env) == []  # that version is done

    held = publish(backend, tmp_path, [3.0, -1.0, 5.0], POSITIVE)
    assert held.status is DatasetStatus.QUARANTINED
    assert scheduler.tick(backend, env=env) == []  # quarantined data starts nothing
    backend.datasets.release("etl", "loans@3", "the negative amount is a refund")
    (released,) = scheduler.tick(backend, env=env)
    assert released.dataset == "loans@3" and released.run is not None
    assert rows_of(released.run) == 3


# One scheduler process: wait for the start signal, tick once, print the versions it started.
RACER = """
import json, os, sys, time
from pathlib import Path
from relayml.pipelines import scheduler, worker_env
from relayml.sdk.session import connect
from tests.conftest import settings_for

home, url, go = sys.argv[1:4]
settings = settings_for(Path(home), url)
backend = connect(settings=settings).backend
backend.pipelines.list_pipelines("etl")  # connected and migrated before the race
while not os.path.exists(go):
    time.sleep(0.005)
outcomes = scheduler.tick(backend, env=worker_env(settings), project="etl")
print(json.dumps([[o.dataset, o.run.status.value if o.run else o.error] for o in outcomes]))
backend.close()
"""


def test_racing_scheduler_processes_start_each_version_once(
    store_url: str, write_module: WriteModule, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    backend = connect(settings=settings_for(home, store_url)).backend
    try:
        backend.identity.ensure_project("etl")
        register(backend, write_module(WATCHER) + ":retrain", "etl")
        for amounts in ([1.0], [1.0, 2.0]):
            publish(backend, tmp_path, amounts)
        go = tmp_path / "go"
        argv = [sys.executable, "-c", RACER, str(home), store_url, str(go)]
        run = dict(cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs = [subprocess.Popen(argv, **run) for _ in range(3)]  # type: ignore[call-overload]
        time.sleep(1.0)  # let them connect, so the ticks overlap
        go.touch()
        started: list[list[str]] = []
        for p in procs:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
            started += json.loads(out.strip().splitlines()[-1])
        assert sorted(started) == [["loans@1", "finished"], ["loans@2", "finished"]]
        runs = backend.pipelines.list_runs("etl", "retrain")
        assert sorted(r.dataset or "" for r in runs) == ["loans@1", "loans@2"]
    finally:
        backend.close()
