"""The registry's CI gates, as a pipeline runs them: exit 0 to go on, 1 when the check failed
(a metric out of bounds, failed evidence, a rejected request), 13 when a decision did not come
in time, 2 for a mistake in the command itself."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import relayml as relay
from tests.cli.conftest import Relay, Result
from tests.models.test_registry import POLICY, _fit, _frame, _users


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / ".relay"


def _cli(home: Path, token: str, *args: str) -> Result:
    return Relay(home)("--project", "churn", *args, RELAY_TOKEN=token)


def test_evaluate_and_promote_fail_the_pipeline_on_a_failed_check(home: Path) -> None:
    tokens = _users(home)
    ds, gov, eng = (tokens[r] for r in ("data_scientist", "model_governance", "data_engineer"))
    relay.init("churn", home=home, token=eng)
    relay.datasets.publish("holdout", _frame(seed=3))
    relay.init("churn", home=home, token=ds)
    relay.models.register("churn", _fit(_frame()), input_example=_frame()[["x1", "x2"]][:3])

    evaluate = ("models", "evaluate", "churn@1", "holdout@1", "--target", "label")
    passed = _cli(home, ds, *evaluate, "--min", "auc=0.6", "--max", "log_loss=5")
    assert passed.code == 0 and "auc" in passed.out and passed.err == "", passed
    low = _cli(home, ds, *evaluate, "--min", "auc=0.9999", "--min", "accuracy=0.5")
    assert low.code == 1, low
    [line] = low.err.splitlines()
    assert line.startswith("check failed: auc of churn@1 on holdout@1 is 0.")
    assert line.endswith("below the minimum 0.9999")
    high = _cli(home, ds, *evaluate, "--max", "log_loss=0.0001", "--json")
    assert high.code == 1 and "above the maximum 0.0001" in high.err
    assert "log_loss" in json.loads(high.out)["metrics"]  # the JSON is printed all the same
    unknown = _cli(home, ds, *evaluate, "--min", "aucc=0.5")
    assert unknown.code == 2 and "has no metric 'aucc'; it has" in unknown.err
    malformed = _cli(home, ds, *evaluate, "--min", "auc")
    assert malformed.code == 2 and "--min takes METRIC=VALUE" in malformed.err

    # the version names no run, so its data_checks evidence fails: the request opens, CI fails
    promoted = _cli(
        home, ds, "models", "promote", "churn@1", "--to", "production", "--eval", "holdout@1",
        "--target", "label", "--fail-on-evidence", "--json",
    )  # fmt: skip
    assert promoted.code == 1, promoted
    request = json.loads(promoted.out)
    assert request["state"] == "open"
    assert promoted.err.strip() == (
        f"check failed: required evidence data_checks of request {request['id']} failed"
    )
    shown = _cli(home, gov, "requests", "show", request["id"], "--json")
    assert json.loads(shown.out)["state"] == "open"  # for the reviewers to see


def test_requests_wait_exits_with_the_decision(home: Path) -> None:
    tokens = _users(home)
    ds, gov, eng = (tokens[r] for r in ("data_scientist", "model_governance", "data_engineer"))
    relay.init("churn", home=home, token=eng)
    relay.datasets.publish("holdout", _frame(seed=3))
    relay.init("churn", home=home, token=gov)
    relay.policy.apply(POLICY)
    relay.init("churn", home=home, token=ds)
    with relay.start_run(experiment="e") as run:
        run.use_dataset("holdout@1")
        for seed in range(2):
            relay.models.register(
                "churn", _fit(_frame(seed)), run=run, input_example=_frame()[["x1", "x2"]][:3]
            )
    first = relay.models.promote("churn@1", to="production").id
    second = relay.models.promote("churn@2", to="production").id

    late = _cli(home, ds, "requests", "wait", first, "--timeout", "1s", "--every", "0.2")
    assert late.code == 13 and "is still open after 1s" in late.err, late

    # a pipeline waits; governance approves meanwhile; the wait ends with exit 0
    cli = Relay(home)
    waiting = subprocess.Popen(
        [sys.executable, "-m", "relayml.cli.app", "requests", "wait", first, "--every", "0.2",
         "--timeout", "2m"],
        cwd=home.parent, env={**cli.env, "RELAY_TOKEN": ds}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(1)
    assert waiting.poll() is None  # still waiting for the decision
    assert _cli(home, gov, "requests", "approve", first, "--note", "checked").code == 0
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert f"request {first}: promote churn@1 to production applied" in out

    assert _cli(home, gov, "requests", "reject", second, "--reason", "not yet").code == 0
    rejected = _cli(home, ds, "requests", "wait", second, "--json")
    assert rejected.code == 1 and json.loads(rejected.out)["state"] == "rejected"
