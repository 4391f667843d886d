"""The registry as users drive it: the SDK's register/load (hash verified, signature enforced),
the refusals that keep a registry safe, racing approvals, and the CLI's commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import relayml as relay
from relayml.errors import IntegrityError, InvalidInput, Unprocessable
from relayml.sdk import session
from tests.cli.conftest import Relay
from tests.conftest import settings_for
from tests.flavors.payload import Boom

POLICY = """\
separation_of_duties: true
evaluation:
  dataset: holdout@1
  target: label
  slices: [region]
protected:
  production:
    approvals: 1
    approvers: [model_governance]
"""


def _frame(seed: int = 0, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = ((x1 - x2 + rng.normal(scale=0.5, size=n)) > 0).astype(int)
    region = np.where(rng.random(n) < 0.3, "north", "south")
    return pd.DataFrame({"x1": x1, "x2": x2, "region": region, "label": y})


def _fit(df: pd.DataFrame) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression()).fit(df[["x1", "x2"]], df["label"])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / ".relay"


def _users(home: Path, project: str = "churn") -> dict[str, str]:
    """Tokens for a data scientist, a governance officer and a data engineer in `project`."""
    admin = session.connect(settings=settings_for(home), project=project).backend
    tokens = {
        role: admin.identity.create_user(role.replace("_", "-"), [role], project).token
        for role in ("data_scientist", "model_governance", "data_engineer")
    }
    admin.close()
    return tokens


def test_register_load_predict_and_a_tampered_artifact(home: Path) -> None:
    tokens = _users(home)
    relay.init("churn", home=home, token=tokens["data_scientist"])
    df = _frame()
    model = _fit(df)
    with relay.start_run(experiment="baseline") as run:
        mv = relay.models.register("churn", model, run=run, input_example=df[["x1", "x2"]][:5])
    assert (mv.ref, mv.flavor.value, mv.run_id) == ("churn@1", "sklearn", run.id)
    relay.models.set_alias("churn@1", "staging")
    loaded = relay.models.load("churn@staging")
    X = df[["x1", "x2"]]
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.version.ref == "churn@1"
    with pytest.raises(InvalidInput, match="x2"):
        loaded.predict(df[["x1"]])
    # tamper with the stored artifact: every later load refuses it
    blob = home / "artifacts" / "sha256" / mv.digest[:2] / mv.digest[2:]
    assert blob.is_file(), sorted(str(p) for p in (home / "artifacts").rglob("*"))[:5]
    os.chmod(blob, 0o644)
    blob.write_bytes(blob.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(IntegrityError):
        relay.models.load("churn@1")


def test_dangerous_artifacts_are_refused_without_running_them(home: Path, tmp_path: Path) -> None:
    import skops.io
    from sklearn.preprocessing import FunctionTransformer

    tokens = _users(home)
    relay.init("churn", home=home, token=tokens["data_scientist"])
    marker = tmp_path / "marker"
    crafted = tmp_path / "evil.skops"
    crafted.write_bytes(
        skops.io.dumps(FunctionTransformer(func=np.log1p, kw_args={"x": Boom(str(marker))}))
    )
    cli = Relay(home)
    refused = cli(
        "models",
        "register",
        "evil",
        str(crafted),
        "-p",
        "churn",
        RELAY_TOKEN=tokens["data_scientist"],
    )
    assert refused.code != 0 and "Boom" in refused.err, refused
    assert not marker.exists()
    with pytest.raises(Unprocessable, match="unsafe_pickle"):
        relay.models.register("raw", {"weights": [1, 2]})  # no safe format: a pickle
    assert not relay.models.list()


def test_racing_approvals_leave_exactly_one_holder(home: Path, tmp_path: Path) -> None:
    tokens = _users(home)
    relay.init("churn", home=home, token=tokens["data_engineer"])
    relay.datasets.publish("holdout", _frame(seed=3))
    relay.init("churn", home=home, token=tokens["model_governance"])
    relay.policy.apply(POLICY)
    relay.init("churn", home=home, token=tokens["data_scientist"])
    with relay.start_run(experiment="e") as run:
        run.use_dataset("holdout@1")
        for seed in range(2):
            relay.models.register(
                "churn", _fit(_frame(seed)), run=run, input_example=_frame()[["x1", "x2"]][:3]
            )
    requests = [relay.models.promote(f"churn@{v}", to="production").id for v in (1, 2)]
    # two governance officers approve the two requests at the same moment, in two processes
    admin = session.connect(settings=settings_for(home), project="churn").backend
    gov2 = admin.identity.create_user("gov-two", ["model_governance"], "churn").token
    admin.close()
    script = textwrap.dedent(
        """
        import sys, time, relayml as relay
        relay.init("churn", home=sys.argv[1], token=sys.argv[2])
        while time.time() < float(sys.argv[4]):
            time.sleep(0.005)
        try:
            done = relay.requests.approve(sys.argv[3])
            print("applied" if done.state.value == "applied" else done.state.value)
        except relay.RelayError as exc:
            print("refused", type(exc).__name__, exc.message)
        """
    )
    import time

    start = str(time.time() + 3)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(home), tok, req, start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tok, req in zip((tokens["model_governance"], gov2), requests, strict=True)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    results = sorted(o[0].strip() for o in outs)
    assert results[0] == "applied" and results[1].startswith("refused Conflict"), outs
    holders = [v.ref for v in relay.models.versions("churn") if "production" in v.aliases]
    assert len(holders) == 1
    moves = relay.models.history("churn", alias="production")
    assert len(moves) == 1 and moves[0].request_id in requests


def test_the_cli_carries_the_whole_hand_off(home: Path, tmp_path: Path) -> None:
    from relayml.flavors.formats import save_model

    tokens = _users(home)
    cli = Relay(home)
    ds, gov, eng = (tokens[r] for r in ("data_scientist", "model_governance", "data_engineer"))
    df = _frame()
    df.to_csv(tmp_path / "holdout.csv", index=False)
    assert (
        cli(
            "datasets",
            "publish",
            "holdout",
            str(tmp_path / "holdout.csv"),
            "-p",
            "churn",
            RELAY_TOKEN=eng,
        ).code
        == 0
    )
    save_model(_fit(df), tmp_path / "m.skops")
    reg = cli(
        "models", "register", "churn", str(tmp_path / "m.skops"), "-p", "churn", RELAY_TOKEN=ds
    )
    assert reg.code == 0 and "registered churn@1 sklearn" in reg.out, reg
    (tmp_path / "policy.yaml").write_text(POLICY)
    assert (
        cli("policy", "apply", str(tmp_path / "policy.yaml"), "-p", "churn", RELAY_TOKEN=ds).code
        != 0
    )
    applied = cli("policy", "apply", str(tmp_path / "policy.yaml"), "-p", "churn", RELAY_TOKEN=gov)
    assert applied.code == 0 and "version 1" in applied.out, applied
    shown = cli("policy", "show", "-p", "churn", "--json", RELAY_TOKEN=ds)
    assert json.loads(shown.out)["evaluation"]["dataset"] == "holdout@1"
    card = cli(
        "models",
        "card",
        "churn",
        "--set",
        "intended_use=rank churn risk",
        "-p",
        "churn",
        RELAY_TOKEN=ds,
    )
    assert card.code == 0 and "rank churn risk" in card.out, card
    ev = cli(
        "models",
        "evaluate",
        "churn@1",
        "holdout@1",
        "--target",
        "label",
        "--slice",
        "region",
        "-p",
        "churn",
        RELAY_TOKEN=ds,
    )
    assert ev.code == 0 and "auc" in ev.out and "north" in ev.out, ev
    blocked = cli("models", "set-alias", "churn@1", "production", "-p", "churn", RELAY_TOKEN=ds)
    assert blocked.code != 0 and "relay models promote churn@1 --to production" in blocked.err
    promoted = cli(
        "models",
        "promote",
        "churn@1",
        "--to",
        "production",
        "--note",
        "first",
        "-p",
        "churn",
        "--json",
        RELAY_TOKEN=ds,
    )
    req = json.loads(promoted.out)
    assert req["state"] == "open" and {e["name"] for e in req["evidence"]} >= {"evaluation"}
    # data_checks fails: the CLI-registered version names no run, so its data is unknown
    inbox = cli("inbox", "--json", RELAY_TOKEN=gov)
    assert [i["id"] for i in json.loads(inbox.out)] == [req["id"]]
    refused = cli("requests", "approve", req["id"], RELAY_TOKEN=gov)
    assert refused.code != 0 and "data_checks" in refused.err, refused
    rejected = cli(
        "requests", "reject", req["id"], "--reason", "register it with its run", RELAY_TOKEN=gov
    )
    assert rejected.code == 0 and "rejected" in rejected.out
    listed = cli("requests", "ls", "-p", "churn", "--json", RELAY_TOKEN=ds)
    assert [r["state"] for r in json.loads(listed.out)] == ["rejected"]
    req_set = cli(
        "requirements",
        "set",
        "churn",
        "--metric",
        "auc",
        "--min",
        "0.8",
        "-p",
        "churn",
        RELAY_TOKEN=gov,
    )
    assert req_set.code == 0, req_set
    assert "auc" in cli("requirements", "ls", "churn", "-p", "churn", RELAY_TOKEN=ds).out
    history = cli("models", "history", "churn", "-p", "churn", RELAY_TOKEN=ds)
    assert history.code == 0
    shown = cli("models", "show", "churn@1", "-p", "churn", RELAY_TOKEN=ds)
    assert "sha256" in shown.out and "scikit-learn" in shown.out, shown
