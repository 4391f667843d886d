"""Data, pipelines and a deployment on the UI tests' server, recorded as Relay's own clients
record them, with user text that carries HTML and script wherever users may write it
(descriptions, sources, contract YAML, reasons, step errors and logs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from relayml.client.http import HttpBackend
from relayml.domain.pipelines import StepOutput, StepSpec
from tests.ui.conftest import HOSTILE, OTHER, PROJECT, UiWorld

CONTRACT = f"""\
# {HOSTILE}
columns:
  id: {{type: int64, unique: true}}
  amount: {{type: float64, min: 0, description: "{HOSTILE.replace('"', "'")}"}}
  grade: {{allowed: [A, B, C]}}
"""


@dataclass
class DataWorld:
    failed_run: str  # a failing pipeline run of "prep"
    good_run: str  # the run that made features@1
    use_run: str  # an experiment run that used features@1, with churn@2 registered from it
    other_dataset: str  # a dataset in OTHER
    devops_token: str  # omar, devops_engineer in PROJECT: may roll back, not change traffic


def _frame(path: Path, shift: float, grades: str, n: int = 400) -> Path:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(int(shift * 10) + len(grades))
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "amount": rng.lognormal(8 + shift, 0.5, n).round(2),
            "grade": rng.choice(list(grades), n),
        }
    )
    frame.to_parquet(path, index=False)
    return path


def seed_data(world: UiWorld) -> DataWorld:
    tmp = world.home / "seed-data"
    tmp.mkdir(exist_ok=True)
    eng = HttpBackend(world.url, world.tokens["data_engineer"])
    sci = HttpBackend(world.url, world.tokens["data_scientist"])
    mle = HttpBackend(world.url, world.tokens["ml_engineer"])
    admin = HttpBackend(world.url, world.admin_token)
    try:
        d = eng.datasets
        d.publish(
            PROJECT,
            "loans",
            _frame(tmp / "l1.parquet", 0, "ABC"),
            contract=CONTRACT,
            description=f"Loans book {HOSTILE}",
            source=f"s3://raw/{HOSTILE}",
        )
        # a moved amount and a grade the contract does not allow: quarantined at publish
        d.publish(PROJECT, "loans", _frame(tmp / "l2.parquet", 1.0, "ABCD"), contract=CONTRACT)
        d.publish(PROJECT, "loans", _frame(tmp / "l3.parquet", 0.05, "ABC"), contract=CONTRACT)
        d.deprecate(PROJECT, "loans@3", f"superseded {HOSTILE}")
        d.publish(PROJECT, "scores", _frame(tmp / "s1.parquet", 0, "ABC"))
        d.publish(PROJECT, "scores", _frame(tmp / "s2.parquet", 0.8, "ABCD"))

        p = eng.pipelines
        steps = [StepSpec("load"), StepSpec("clean", ("load",)), StepSpec("publish", ("clean",))]
        p.register(PROJECT, "prep", module="pipelines.prep:flow", steps=steps)
        failed = p.start_run(PROJECT, "prep", steps=steps)
        logs, _ = p.put_blob(failed.id, _log(tmp / "fail.log", f"reading {HOSTILE}\nboom"))
        p.record_step(failed.id, "load", status="finished", attempts=1)
        p.record_step(
            failed.id,
            "clean",
            status="failed",
            attempts=3,
            logs_digest=logs,
            error=f"ValueError: bad row {HOSTILE}",
            user_traceback=f"Traceback ...\nValueError: {HOSTILE}",
        )
        p.record_step(failed.id, "publish", status="skipped")
        p.finish_run(failed.id, "failed", error=f"step clean failed: {HOSTILE}")

        good = p.start_run(PROJECT, "prep", steps=steps)
        p.record_step(good.id, "load", status="finished", attempts=1)
        p.record_step(good.id, "clean", status="finished", attempts=2)
        features = d.publish(
            PROJECT,
            "features",
            _frame(tmp / "f1.parquet", 0, "AB"),
            parents=["loans@1"],
            producer={"pipeline_run": good.id, "step": "publish"},
        )
        p.record_step(
            good.id,
            "publish",
            status="finished",
            attempts=1,
            output=StepOutput("dataset", features.ref, ref=features.ref),
        )
        p.finish_run(good.id, "finished")

        run = sci.tracking.create_run(project=PROJECT, experiment="churn", name="on features")
        sci.datasets.use(run.id, "features@1")
        _register(sci, tmp, run.id)
        sci.tracking.end_run(run.id, "finished")

        mle.deployments.create(PROJECT, "churn-api", "churn@1", reason=f"first {HOSTILE}")
        mle.deployments.set_traffic(
            PROJECT, "churn-api", canary="churn@2", canary_percent=20, reason=f"try {HOSTILE}"
        )

        sam = HttpBackend(world.url, world.tokens["stakeholder"])
        try:
            labels: list[str | int] = [1, 0, 1, HOSTILE]
            for i, label in enumerate(labels):
                sam.deployments.submit_feedback(
                    PROJECT, "churn-api", f"pred-{i}", label=label, comment=HOSTILE
                )
        finally:
            sam.close()

        other = admin.datasets.publish(OTHER, "secret", _frame(tmp / "o.parquet", 0, "AB"))
        devops = admin.identity.create_user("omar", ["devops_engineer"], PROJECT).token
        return DataWorld(failed.id, good.id, run.id, other.ref, devops)
    finally:
        for b in (eng, sci, mle, admin):
            b.close()


def _log(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _register(sci: HttpBackend, tmp: Path, run_id: str) -> None:
    """churn@2, from the run that used features@1."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from relayml.flavors.formats import save_model

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x1": rng.normal(size=200), "x2": rng.normal(size=200)})
    model = LogisticRegression(C=0.5).fit(X, (X["x1"] > 0).astype(int))
    saved = save_model(model, tmp / "churn2.skops", input_example=X[:5])
    sci.models.register(
        PROJECT,
        "churn",
        tmp / "churn2.skops",
        flavor=saved.flavor.value,
        environment=saved.environment.to_dict(),
        signature=saved.signature.to_dict() if saved.signature else None,
        run_id=run_id,
        description="trained on features@1",
    )


@dataclass
class MonitorWorld:
    alert: str  # a live data-drift alert on x1 (the HTTP tests act on it)
    score_alert: str  # a live prediction-drift alert on the score (the browser tests' one)
    monitor: str


def seed_monitor(world: UiWorld) -> MonitorWorld:
    """A monitor on churn-api against a reference of churn@1's inputs, with hourly windows of
    logged predictions (the documented log schema, as the contract suite writes it) of which
    the last three moved: a live alert in the ML engineer's inbox."""
    import pyarrow as pa

    from relayml.tables.parquet import write_normalized
    from relayml.testing.contract_monitors import Watched, _data, _hour, log_hour

    tmp = world.home / "seed-monitor"
    tmp.mkdir(exist_ok=True)
    eng = HttpBackend(world.url, world.tokens["data_engineer"])
    mle = HttpBackend(world.url, world.tokens["ml_engineer"])
    try:
        train = _data(3000)
        path = tmp / "reference.parquet"
        write_normalized(pa.Table.from_pandas(train, preserve_index=False), path, None)
        eng.datasets.publish(PROJECT, "churn-train", path, description=HOSTILE)
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression().fit(train[["x1", "x2"]], train["y"])
        t0 = _hour(8)
        mon = mle.monitors.create(
            PROJECT,
            "churn-api",
            name="churn-watch",
            window="1h",
            reference="churn-train@1",
            target="y",
            min_rows=50,
            alert_after="2/3",
            since=t0,
        )
        w = Watched(PROJECT, mle, model, t0, tmp)
        for hour in range(6):
            log_hour(w, hour, shift=2.5 if hour >= 3 else 0.0)
        mle.monitors.process(PROJECT, mon.name)
        live = {a.subject: a.id for a in mle.monitors.list_alerts(PROJECT)}
        return MonitorWorld(live["x1"], live["score"], mon.name)
    finally:
        eng.close()
        mle.close()
