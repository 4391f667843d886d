"""examples/ci/pipeline.sh, the documented CI/CD path, run here as a plain shell script against an
embedded workspace: every stage's exit code is what a CI system acts on. A good training file
goes through to production once governance approves; a file that breaks its contract stops at
the first stage, a model under its metric bound at `evaluate`, a rejected request at `promote`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from relayml.client.base import Backend
from relayml.sdk import session
from relayml.testing.server import free_port
from tests.conftest import settings_for

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "ci" / "pipeline.sh"
CONTRACT = """\
name: churn-train
columns:
  tenure: {type: float64, nullable: false, min: 0}
  spend: {type: float64, nullable: false}
  churned: {type: int64, nullable: false, allowed: [0, 1]}
checks:
  - row_count: {min: 100}
"""


def churn_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure, spend = rng.exponential(24, n), rng.normal(50, 15, n)
    churned = ((60 - tenure + (spend - 50) * 0.5 + rng.normal(0, 10, n)) > 40).astype(int)
    return pd.DataFrame({"tenure": tenure, "spend": spend, "churned": churned})


@dataclass
class Workspace:
    root: Path
    env: dict[str, str]
    admin: Backend
    ci_token: str
    gov_token: str
    staging_url: str

    def staging_answers(self) -> str:
        """The version the staging server answers from now ("HTTP 422" if it refuses)."""
        records = [{"tenure": 12.0, "spend": 40.0}]
        reply = httpx.post(f"{self.staging_url}/deployments/churn-staging/predict",
                           json={"records": records})  # fmt: skip
        if reply.status_code != 200:
            return f"HTTP {reply.status_code}"
        return reply.headers["relay-model-version"]

    def run(self, *stages: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPT), *stages], cwd=self.root, env={**self.env, **env},
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    def open_requests(self) -> list[str]:
        return [r.id for r in self.admin.models.list_requests("churn", "open", "churn")]


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    home = tmp_path / ".relay"
    admin = session.connect(settings=settings_for(home), project="churn").backend
    ci = admin.identity.create_user("ci", ["data_engineer", "ml_engineer"], "churn").token
    gov = admin.identity.create_user("gina", ["model_governance"], "churn").token
    (tmp_path / "data").mkdir()
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "train.yaml").write_text(CONTRACT)
    churn_frame(600, seed=1).to_csv(tmp_path / "data" / "train.csv", index=False)
    churn_frame(400, seed=2).to_csv(tmp_path / "holdout.csv", index=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(
        RELAY_HOME=str(home), RELAY_TOKEN=ci, NO_COLOR="1",
        RELAY=f"{sys.executable} -m relayml.cli.app",
        TRAIN_CMD=f"{sys.executable} {ROOT / 'examples' / 'ci' / 'train.py'}",
        APPROVAL_TIMEOUT="3m",
    )  # fmt: skip
    published = subprocess.run(
        [sys.executable, "-m", "relayml.cli.app", "datasets", "publish", "holdout",
         "holdout.csv", "-p", "churn"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert published.returncode == 0, published.stderr
    # set up once, as the MLOps engineer would: a first model, the staging deployment, its server
    first = subprocess.run(["bash", str(SCRIPT), "check", "train"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert first.returncode == 0, first.stderr
    admin.deployments.create("churn", "churn-staging", "churn@1")
    port = free_port()
    env["STAGING_URL"] = f"http://127.0.0.1:{port}"
    env["DEPLOY_TIMEOUT"] = "60"
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "relayml.cli.app", "serve", "churn-staging", "--port",
             str(port), "--poll", "0.2", "-p", "churn"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{env['STAGING_URL']}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        yield Workspace(tmp_path, env, admin, ci, gov, env["STAGING_URL"])
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        admin.close()


def _review_when_opened(ws: Workspace, verdict: str) -> threading.Thread:
    """Governance, in the background: approve (or reject) the request as soon as it opens."""

    def review() -> None:
        gov = session.connect(
            settings=settings_for(ws.root / ".relay"), token=ws.gov_token, project="churn"
        ).backend
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                found = ws.open_requests()
                if found:
                    if verdict == "approve":
                        gov.models.approve(found[0], "CI evidence checked", None)
                    else:
                        gov.models.reject(found[0], "not this quarter")
                    return
                time.sleep(0.2)
        finally:
            gov.close()

    thread = threading.Thread(target=review, daemon=True)
    thread.start()
    return thread


def test_a_good_model_goes_to_production_once_governance_approves(workspace: Workspace) -> None:
    assert workspace.staging_answers() == "1"
    reviewer = _review_when_opened(workspace, "approve")
    done = workspace.run()
    reviewer.join(timeout=60)
    assert done.returncode == 0, done.stderr
    for stage in ("contracts check", "train", "evaluate", "promotion request",
                  "deploy to staging", "smoke test", "promote on"):  # fmt: skip
        assert f"== {stage}" in done.stderr
    state = (workspace.root / ".relay-ci.env").read_text()
    assert "REF=churn@2" in state and "REQUEST=" in state
    assert "ready: smoke request of 1 record(s) answered by version 2" in done.stderr
    assert workspace.staging_answers() == "2"
    production = workspace.admin.models.get("churn", "churn@production")
    assert production.version == 2
    request = state.split("REQUEST=")[1].strip()
    assert f"request {request}: promote churn@2 to production applied" in done.stdout

    # the next candidate: a reviewer rejects it, and the promote stage fails the pipeline
    reviewer = _review_when_opened(workspace, "reject")
    rejected = workspace.run("train", "evaluate", "request", "promote")
    reviewer.join(timeout=60)
    assert rejected.returncode == 1, rejected.stderr
    assert "promote churn@3 to production rejected" in rejected.stdout
    assert workspace.admin.models.get("churn", "churn@production").version == 2


def test_a_failed_smoke_test_fails_the_pipeline_and_staging_keeps_the_old_version(
    workspace: Workspace,
) -> None:
    # a model trained with a column (promo) that the traffic's records do not carry
    frame = churn_frame(600, seed=4).assign(promo=1.0)
    frame.to_csv(workspace.root / "data" / "promo.csv", index=False)
    smoke = workspace.root / "smoke.json"
    smoke.write_text(json.dumps([{"tenure": 12.0, "spend": 40.0}, {"tenure": 1.0, "spend": 90.0}]))
    failed = workspace.run("check", "train", "deploy-staging", "smoke",
                           TRAIN_DATA="data/promo.csv", SMOKE_RECORDS=str(smoke))  # fmt: skip
    assert failed.returncode == 1, failed.stderr
    assert "== smoke test" in failed.stderr and "== promote" not in failed.stderr
    assert "check failed: smoke request answered 422" in failed.stderr
    assert "check failed: rolled churn-staging back to churn@1" in failed.stderr
    assert workspace.admin.deployments.get("churn", "churn-staging").target == "churn@1"
    deadline = time.monotonic() + 30
    while workspace.staging_answers() != "1":  # the server follows the rollback
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_each_failed_check_stops_the_pipeline_at_its_stage(workspace: Workspace) -> None:
    broken = churn_frame(600, seed=3)
    broken.loc[10, "tenure"] = -5.0  # breaks the contract's min: 0
    broken.to_csv(workspace.root / "data" / "bad.csv", index=False)
    stopped = workspace.run(TRAIN_DATA="data/bad.csv")
    assert stopped.returncode == 1, stopped.stderr
    assert "== contracts check" in stopped.stderr and "== train" not in stopped.stderr
    assert len(workspace.admin.models.versions("churn", "churn")) == 1  # nothing new trained

    low = workspace.run(MIN_METRICS="auc=0.6 accuracy=0.9999")
    assert low.returncode == 1, low.stderr
    assert "check failed: accuracy of churn@2 on holdout@" in low.stderr
    assert "== promotion request" not in low.stderr
    assert workspace.open_requests() == []  # no request for a model under its bound

    unknown = workspace.run("deploy")  # the stage is deploy-staging
    assert unknown.returncode == 2 and "unknown stage deploy" in unknown.stderr


def _script_stages() -> list[str]:
    line = next(ln for ln in SCRIPT.read_text().splitlines() if ln.startswith("STAGES=("))
    return line.removeprefix("STAGES=(").removesuffix(")").split()


def test_the_documented_ci_files_run_the_script_s_stages_in_order() -> None:
    import re

    import yaml

    stage = re.compile(r"bash examples/ci/pipeline\.sh ([\w-]+)")
    github = yaml.safe_load((ROOT / "docs" / "ci" / "github-actions.yml").read_text())
    in_github = [
        m.group(1)
        for job in github["jobs"].values()
        for step in job["steps"]
        for m in [stage.search(step.get("run", ""))]
        if m
    ]
    gitlab = yaml.safe_load((ROOT / "docs" / "ci" / "gitlab-ci.yml").read_text())
    jobs = [j for name, j in gitlab.items() if isinstance(j, dict) and "stage" in j]
    jobs.sort(key=lambda j: gitlab["stages"].index(j["stage"]))
    in_gitlab = [
        m.group(1) for j in jobs for line in j["script"] for m in [stage.search(line)] if m
    ]
    assert in_github == in_gitlab == _script_stages()
    assert "${{ secrets.RELAY_TOKEN }}" in (ROOT / "docs" / "ci" / "github-actions.yml").read_text()
