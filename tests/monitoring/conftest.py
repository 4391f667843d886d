"""The closed loop's world, embedded: scorecard@1 serving through scorecard-api, a monitor
watching it, and a loop that retrains on data drift."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from relayml.client.base import Backend
from relayml.domain.loops import LoopSpec
from relayml.domain.monitors import AlertFamily
from relayml.monitoring import runner
from relayml.pipelines import worker_env
from relayml.sdk import session
from tests.conftest import settings_for
from tests.monitors.conftest import FEATURES, P, Served, applicants

POLICY = """\
protected:
  production:
    approvals: 1
    approvers: [model_governance]
    evidence: [load_check, evaluation]
"""
PIPELINE = """
import relayml as relay


@relay.step(cache=False)
def register(dataset: str = "loans") -> str:
    from sklearn.linear_model import LogisticRegression

    frame = relay.datasets.get(dataset).to_pandas()
    X, y = frame[["income", "debt"]], frame["default"]
    with relay.start_run(experiment="retrain") as run:
        run.use_dataset(relay.datasets.get(dataset).ref)
        model = LogisticRegression().fit(X, y)
        return relay.models.register("scorecard", model, run=run, input_example=X[:5]).ref


@relay.pipeline
def retrain(dataset: str = "loans"):
    register(dataset)
"""


@dataclass
class Loop:
    served: Served
    gov: Backend
    env: dict[str, str]

    def tick(self) -> tuple[list[runner.Outcome], list[runner.LoopsOutcome]]:
        said: list[runner.LoopsOutcome] = []
        out = runner.tick(self.served.backend, P, env=self.env, on_loops=said.append)
        return out, said


@pytest.fixture
def closed(tmp_path: Path) -> Iterator[Loop]:
    """scorecard@1 (trained on loans@1) holds the protected alias production, which
    scorecard-api follows; a monitor watches it and a loop retrains on data drift."""
    from sklearn.linear_model import LogisticRegression

    import relayml as relay
    from relayml.pipelines.runner import register

    home = tmp_path / ".relay"
    relay.init(P, home=home)
    train = applicants(3000)
    relay.datasets.publish("loans", train)
    with relay.start_run(experiment="scorecard") as run:
        run.use_dataset("loans@1")
        model = LogisticRegression().fit(train[FEATURES], train["default"])
        mv = relay.models.register("scorecard", model, run=run, input_example=train[FEATURES][:5])
    session.reset()
    assert mv.signature is not None
    settings = settings_for(home)
    admin = session.connect(settings=settings, project=P).backend
    admin.models.apply_policy(P, POLICY)
    token = admin.identity.create_user("gina", ["model_governance"], P).token
    gov = session.connect(settings=settings, token=token).backend
    first = admin.models.promote(P, "scorecard@1", "production", dataset="loans@1",
                                 target="default")  # fmt: skip
    gov.models.approve(first.id, "the first scorecard")
    admin.deployments.create(P, "scorecard-api", "scorecard@production", reason="live")
    module = tmp_path / "retrain.py"
    module.write_text(textwrap.dedent(PIPELINE))
    register(admin, f"{module}:retrain", P)
    t0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=12)
    admin.monitors.create(P, "scorecard-api", target="default", min_rows=50, alert_after="2/3",
                          since=t0)  # fmt: skip
    admin.loops.attach(P, "retrain", LoopSpec(
        pipeline="retrain", deployment="scorecard-api", on=(AlertFamily.DATA_DRIFT,),
        evaluate_on="loans", target="default",
    ))  # fmt: skip
    try:
        yield Loop(Served(admin, home, model, mv.signature, t0), gov, worker_env(settings))
    finally:
        gov.close()
        admin.close()
