"""The loop runner end to end, embedded: a real retraining pipeline (its steps in processes of
their own, registering the candidate through the SDK), the real registry and policy, the
canary decided from prediction-log segments and feedback written in the documented schema,
and a runner killed with SIGKILL in the middle of its pipeline that the next tick resumes
without a second live pipeline run or a second promotion request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from relayml import loops
from relayml.client.base import Backend
from relayml.domain.loops import LoopSpec, LoopState, StepKind
from relayml.domain.models import RequestState
from relayml.domain.tracking import RunStatus
from relayml.pipelines import worker_env
from relayml.sdk.session import connect
from relayml.tables.parquet import write_normalized
from tests.conftest import settings_for

P = "churn"
POLICY = """\
separation_of_duties: true
protected:
  production:
    approvals: 1
    approvers: [model_governance]
    evidence: [load_check, evaluation]
"""
PIPELINE = """
import os
import time

import relayml as relay


@relay.step(cache=False)
def register(dataset: str = "train", noise: float = 0.0) -> str:
    from sklearn.linear_model import LogisticRegression

    hold = os.environ.get("LOOP_TEST_HOLD")
    while hold and os.path.exists(hold):  # the kill -9 test holds the step here
        time.sleep(0.1)
    frame = relay.datasets.get(dataset).to_pandas()
    X, y = frame[["x1", "x2"]], frame["label"]
    with relay.start_run(experiment="retrain") as run:
        model = LogisticRegression().fit(X, y)
        return relay.models.register("churn", model, run=run, input_example=X[:5]).ref


@relay.pipeline
def retrain(dataset: str = "train", noise: float = 0.0):
    register(dataset, noise)
"""


def _data(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = ((x1 + 0.5 * x2 + rng.normal(scale=0.5, size=n)) > 0).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "label": y})


@dataclass
class World:
    home: Path
    admin: Backend
    bot: Backend  # the runner: ml_engineer + mlops_engineer
    bot_token: str
    mle: Backend  # attaches the loop
    gov: Backend
    module: str

    def env(self) -> dict[str, str]:
        return worker_env(settings_for(self.home), token=self.bot_token)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    from sklearn.linear_model import LogisticRegression

    home = tmp_path / ".relay"
    settings = settings_for(home)
    admin = connect(settings=settings).backend
    admin.identity.create_project(P)
    opened: list[Backend] = []

    def user(name: str, *roles: str) -> tuple[Backend, str]:
        token = admin.identity.create_user(name, list(roles), P).token
        b = connect(settings=settings, token=token).backend
        opened.append(b)
        return b, token

    bot, bot_token = user("loopbot", "ml_engineer", "mlops_engineer")
    mle, _ = user("erin", "ml_engineer")
    gov, _ = user("gina", "model_governance")
    ds, _ = user("dana", "data_scientist")
    for name, seed in (("train", 1), ("holdout", 2)):
        write_normalized(_data(seed), tmp_path / f"{name}.parquet", None)
        admin.datasets.publish(P, name, tmp_path / f"{name}.parquet")
    admin.models.apply_policy(P, POLICY)
    # churn@1: a weak model (one column), trained and registered by the data scientist
    X = _data(1)
    from relayml.flavors.formats import save_model

    weak = LogisticRegression().fit(X[["x1", "x2"]], X["label"].sample(frac=1, random_state=3))
    saved = save_model(weak, tmp_path / "v1.skops", input_example=X[["x1", "x2"]][:5])
    assert saved.signature is not None
    run = ds.tracking.create_run(project=P, experiment="first")
    v1 = ds.models.register(P, "churn", tmp_path / "v1.skops", flavor=saved.flavor.value,
                            environment=saved.environment.to_dict(),
                            signature=saved.signature.to_dict(), run_id=run.id)  # fmt: skip
    first = ds.models.promote(P, v1.ref, "production", dataset="holdout@1", target="label")
    gov.models.approve(first.id, "first model")
    mle.deployments.create(P, "churn-api", "churn@production", reason="live")
    module = tmp_path / "retrain.py"
    module.write_text(textwrap.dedent(PIPELINE))
    from relayml.pipelines.runner import register

    register(bot, f"{module}:retrain", P)
    try:
        yield World(home, admin, bot, bot_token, mle, gov, str(module))
    finally:
        for b in opened:
            b.close()
        admin.close()


def _segment(w: World, arm: str, version: int, right: int, wrong: int, seq: int) -> None:
    """`right + wrong` answers of `arm`, logged now, and feedback saying which were right."""
    n = right + wrong
    now = datetime.now(UTC)
    ids = [f"{arm}-{seq}-{i}" for i in range(n)]
    preds = np.ones(n, dtype=np.int64)
    ts = [now + timedelta(milliseconds=i) for i in range(n)]
    table = pa.table({
        "prediction_id": ids, "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
        "deployment": ["churn-api"] * n, "project": [P] * n, "model": ["churn"] * n,
        "version": pa.array([version] * n, pa.int64()), "digest": [f"{version:064x}"] * n,
        "arm": [arm] * n, "request_id": [f"r-{i}" for i in ids],
        "inputs": pa.array([{"x1": 0.0, "x2": 0.0}] * n), "prediction": pa.array(preds),
        "probabilities": pa.array([{"0": 0.3, "1": 0.7}] * n),
        "latency_ms": pa.array(np.full(n, 2.0)),
    })  # fmt: skip
    path = w.home.parent / f"{arm}-{seq}.parquet"
    pq.write_table(table, path)
    w.bot.deployments.record_segment(
        P, "churn-api", path, uri=f"serving/{P}/churn-api/x/s-{seq}.parquet", records=n,
        first_at=ts[0], last_at=ts[-1], server_id="s1",
    )  # fmt: skip
    for i, pid in enumerate(ids):
        w.bot.deployments.submit_feedback(P, "churn-api", pid, label=1 if i < right else 0)


def _attach(w: World, **settings: object) -> None:
    w.mle.loops.attach(P, "retrain", loops_spec(**settings))


def loops_spec(**settings: object) -> LoopSpec:
    base: dict[str, object] = {"pipeline": "retrain", "deployment": "churn-api",
                               "evaluate_on": "holdout", "target": "label",
                               "canary_percent": 25.0, "min_feedback": 100}  # fmt: skip
    return LoopSpec(**{**base, **settings})  # type: ignore[arg-type]


def test_the_runner_takes_a_run_from_its_start_to_a_promotion(world: World) -> None:
    w = world
    _attach(w)
    run = w.mle.loops.start(P, "retrain", "tenure drifted since the pricing change")
    turns = loops.tick(w.bot, P, env=w.env())
    assert any("pipeline retrain run" in t.did and "finished" in t.did for t in turns)
    asked = w.bot.loops.get_run(run.id)
    assert asked.state is LoopState.AWAITING_APPROVAL and asked.candidate == "churn@2"
    prun = w.bot.pipelines.get_run(asked.pipeline_run or "")
    assert prun.trigger.value == "loop" and prun.status is RunStatus.FINISHED
    evaluated = next(s for s in asked.steps if s.kind is StepKind.EVALUATED)
    assert "holdout@1" in evaluated.text and "auc" in evaluated.text
    assert evaluated.detail["candidate"]["auc"] > evaluated.detail["holder"]["auc"]
    loops.tick(w.bot, P, env=w.env())  # nothing moves while governance has not decided
    assert w.bot.loops.get_run(run.id).state is LoopState.AWAITING_APPROVAL
    w.gov.models.approve(asked.request or "", "evaluation better on holdout@1")
    assert w.gov.models.get(P, "churn@production").version == 1  # held until the canary wins
    loops.tick(w.bot, P, env=w.env())
    assert w.bot.loops.get_run(run.id).state is LoopState.CANARY
    resolved = w.bot.deployments.resolve(P, "churn-api")
    assert [(a.role.value, a.version, a.weight) for a in resolved.arms] == [
        ("primary", 1, 75.0), ("canary", 2, 25.0),
    ]  # fmt: skip
    _segment(w, "primary", 1, right=60, wrong=40, seq=1)  # 60 % right, 100 rows
    _segment(w, "canary", 2, right=40, wrong=10, seq=2)  # only 50 rows with feedback yet
    turns = loops.tick(w.bot, P, env=w.env())
    assert any("waiting" in t.did for t in turns)
    _segment(w, "canary", 2, right=50, wrong=10, seq=3)  # 110 rows, 82 % right
    loops.tick(w.bot, P, env=w.env())
    done = w.bot.loops.get_run(run.id)
    assert done.state is LoopState.PROMOTED, done.steps[-1].text
    compared = next(s for s in done.steps if s.kind is StepKind.COMPARED)
    assert "significantly better" in compared.text and compared.detail["canary_n"] == 110
    assert w.gov.models.get(P, "churn@production").version == 2
    assert w.gov.models.get_request(done.request or "").state is RequestState.APPLIED
    (arm,) = w.bot.deployments.resolve(P, "churn-api").arms
    assert (arm.role.value, arm.version) == ("primary", 2)
    assert w.admin.audit.verify().ok


def test_a_runner_killed_mid_pipeline_is_resumed_by_the_next_tick(
    world: World, tmp_path: Path
) -> None:
    w = world
    _attach(w, pipeline_timeout="3s")
    run = w.mle.loops.start(P, "retrain", "drift")
    hold = tmp_path / "hold"
    hold.touch()
    env = {**os.environ, **w.env(), "RELAY_PROJECT": P, "LOOP_TEST_HOLD": str(hold)}
    log = (tmp_path / "runner.log").open("w")
    runner = subprocess.Popen(
        [sys.executable, "-c", "from relayml.cli.app import main; main()", "loops", "run",
         "--once"],
        env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while w.bot.loops.get_run(run.id).state is not LoopState.TRAINING:
            assert runner.poll() is None, (tmp_path / "runner.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.5)  # the step is running, held
    finally:
        os.killpg(runner.pid, signal.SIGKILL)  # the runner and its step's process, at once
        runner.wait()
        log.close()
    first = w.bot.loops.get_run(run.id)
    assert first.state is LoopState.TRAINING and first.pipeline_run is not None
    hold.unlink()
    loops.tick(w.bot, P, env={**w.env(), "LOOP_TEST_HOLD": str(hold)})  # too early: it waits
    assert w.bot.loops.get_run(run.id).pipeline_run == first.pipeline_run
    time.sleep(3)
    loops.tick(w.bot, P, env=w.env())  # abandoned, started again, candidate, request
    after = w.bot.loops.get_run(run.id)
    assert after.state is LoopState.AWAITING_APPROVAL and after.attempts == 2
    assert [s.kind for s in after.steps][:6] == [
        StepKind.TRIGGERED, StepKind.PIPELINE_STARTED, StepKind.PIPELINE_ABANDONED,
        StepKind.PIPELINE_STARTED, StepKind.PIPELINE_FINISHED, StepKind.CANDIDATE,
    ]  # fmt: skip
    runs = [r for r in w.bot.pipelines.list_runs(P, "retrain") if r.trigger.value == "loop"]
    assert sorted(r.status.value for r in runs) == ["failed", "finished"]
    dead = w.bot.pipelines.get_run(first.pipeline_run or "")
    assert dead.status is RunStatus.FAILED and "abandoned" in (dead.error or "")
    assert len(w.gov.models.list_requests(P, state="open")) == 1  # one request
    loops.tick(w.bot, P, env=w.env())  # and another tick changes nothing
    assert w.bot.loops.get_run(run.id).revision == after.revision
