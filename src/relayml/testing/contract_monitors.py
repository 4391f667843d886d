"""The backend contract for monitors: creating one on a deployment (its reference found through
the model's run), processing prediction-log segments in the documented schema into windows,
persistence-gated alerts that de-duplicate and resolve themselves, late labels, model-shift
checks, the inbox, roles and audit — the same on every backend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from relayml.client.base import Backend
from relayml.domain.audit import EntityKind
from relayml.domain.monitors import AlertKind, AlertState, MonitorStatus, Severity, WindowKind
from relayml.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from relayml.testing.contract import ContractEnv

FEATURES = ("x1", "x2")


@dataclass
class Watched:
    project: str
    ml: Backend  # ML engineer: trains, deploys, monitors
    model: Any
    t0: datetime  # the start of the first hour of traffic
    tmp: Path
    seq: int = 0


def _hour(hours_ago: int) -> datetime:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now - timedelta(hours=hours_ago)


def _data(n: int, shift: float = 0.0, seed: int = 0) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x1 = rng.normal(shift, 1.0, n)
    x2 = rng.normal(0.0, 1.0, n)
    y = (x1 + 0.5 * x2 + rng.normal(0, 0.5, n) > 0).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": y})


def watched(contract: ContractEnv, tmp_path: Path, **options: Any) -> Watched:
    """A project with loans@1 (the training data), churn@1 trained on it in a run that used
    it, deployed as churn-api, and a monitor on it with hourly windows from 12 hours ago."""
    import pyarrow as pa
    from sklearn.linear_model import LogisticRegression

    from relayml.flavors.formats import save_model
    from relayml.tables.parquet import write_normalized

    p = contract.new_project()
    ml = contract.as_role(p, "ml_engineer")
    de = contract.as_role(p, "data_engineer")
    train = _data(3000)
    path = tmp_path / "loans.parquet"
    write_normalized(pa.Table.from_pandas(train, preserve_index=False), path, None)
    de.datasets.publish(p, "loans", path)
    run = ml.tracking.create_run(project=p, experiment="train")
    ml.datasets.use(run.id, "loans@1")
    model = LogisticRegression().fit(train[list(FEATURES)], train["y"])
    saved = save_model(model, tmp_path / "m.skops", input_example=train[list(FEATURES)][:5])
    ml.models.register(
        p,
        "churn",
        tmp_path / "m.skops",
        flavor=saved.flavor.value,
        environment=saved.environment.to_dict(),
        signature=saved.signature.to_dict() if saved.signature else None,
        run_id=run.id,
    )
    ml.deployments.create(p, "churn-api", "churn@1")
    t0 = _hour(12)
    settings: dict[str, Any] = {
        "window": "1h",
        "target": "y",
        "min_rows": 50,
        "alert_after": "2/3",
        "since": t0,
    }
    settings.update(options)
    ml.monitors.create(p, "churn-api", **settings)
    return Watched(p, ml, model, t0, tmp_path)


def log_hour(w: Watched, hour: int, n: int = 200, shift: float = 0.0, seed: int = 1) -> list[str]:
    """Log `n` predictions of churn@1 in hour `hour` after t0 as one segment (the documented
    schema: docs/serving.md), registered like a model server does; their prediction ids."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = _data(n, shift, seed + hour)
    x = frame[list(FEATURES)]
    proba = w.model.predict_proba(x)
    start = w.t0 + timedelta(hours=hour)
    ts = [start + timedelta(seconds=int(s)) for s in np.linspace(1, 3500, n)]
    w.seq += 1
    ids = [f"h{hour}-{w.seq}-{i}" for i in range(n)]
    table = pa.table(
        {
            "prediction_id": ids,
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "deployment": ["churn-api"] * n,
            "project": [w.project] * n,
            "model": ["churn"] * n,
            "version": pa.array([1] * n, pa.int64()),
            "digest": ["0" * 64] * n,
            "arm": ["primary"] * n,
            "request_id": [f"r-{i}" for i in ids],
            "inputs": pa.StructArray.from_arrays(
                [pa.array(x[c].to_numpy()) for c in FEATURES], names=list(FEATURES)
            ),
            "prediction": pa.array(w.model.predict(x).astype(np.int64)),
            "probabilities": pa.StructArray.from_arrays(
                [pa.array(proba[:, k]) for k in range(2)], names=["0", "1"]
            ),
            "latency_ms": pa.array(np.full(n, 2.0)),
        }
    )
    path = w.tmp / f"seg-{w.seq}.parquet"
    pq.write_table(table, path)
    day = start.strftime("%Y-%m-%d")
    w.ml.deployments.record_segment(
        w.project,
        "churn-api",
        path,
        uri=f"serving/{w.project}/churn-api/{day}/s1-{w.seq}.parquet",
        records=n,
        first_at=ts[0],
        last_at=ts[-1],
        server_id="s1",
    )
    return ids


def truth_of(w: Watched, hour: int, n: int = 200, shift: float = 0.0, seed: int = 1) -> list[int]:
    return [int(v) for v in _data(n, shift, seed + hour)["y"]]


class MonitorContract:
    def test_create_finds_the_reference_and_changes_are_audited(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        w = watched(contract, tmp_path)
        p, ml = w.project, w.ml
        mon = ml.monitors.get(p, "churn-api")
        c = mon.config
        assert (mon.deployment, mon.model, mon.model_version) == ("churn-api", "churn", 1)
        assert (c.reference, c.target, c.window.kind, c.window.seconds) == (
            "loans@1",
            "y",
            WindowKind.TIME,
            3600.0,
        )
        assert (str(c.alert_after), c.min_rows, c.owner) == ("2/3", 50, "ml_engineer")
        assert c.since == w.t0
        assert c.label_horizon == 30 * 86_400 and mon.reference_digest
        assert [(r.model_version, r.dataset) for r in mon.references] == [(1, "loans@1")]
        assert [m.name for m in ml.monitors.list_monitors(p)] == ["churn-api"]
        rows = ml.monitors.create(p, "churn-api", name="by-rows", window=500, since=w.t0)
        assert rows.config.window.kind is WindowKind.ROWS and rows.config.window.rows == 500
        with pytest.raises(Conflict, match="exists"):
            ml.monitors.create(p, "churn-api", name="by-rows")
        assert ml.monitors.pause(p, "by-rows", reason="noisy").status is MonitorStatus.PAUSED
        assert ml.monitors.process(p, "by-rows").claimed is False
        with pytest.raises(Conflict, match="paused already"):
            ml.monitors.pause(p, "by-rows")
        assert ml.monitors.resume(p, "by-rows").status is MonitorStatus.ACTIVE
        archived = ml.monitors.archive(p, "by-rows", reason="one is enough")
        assert archived.status is MonitorStatus.ARCHIVED and archived.status_reason
        assert [m.name for m in ml.monitors.list_monitors(p)] == ["churn-api"]
        assert len(ml.monitors.list_monitors(p, include_archived=True)) == 2
        events = contract.admin.audit.log(project=p, entity_kind=EntityKind.MONITOR, limit=50)
        assert {"monitor.create", "monitor.pause", "monitor.resume", "monitor.archive"} <= {
            e.action for e in events
        }

    def test_bad_input_and_roles_are_refused_clearly(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        w = watched(contract, tmp_path)
        p, ml = w.project, w.ml
        bad: list[tuple[str | int, str]] = [
            (0, "out of range"),
            (2**63, "out of range"),
            ("1x", "invalid window"),
            ("10s", "out of range"),
            ("-5", "out of range"),
        ]
        for window, said in bad:
            with pytest.raises(InvalidInput, match=said):
                ml.monitors.create(p, "churn-api", name="bad", window=window)
        with pytest.raises(InvalidInput, match="persistence"):
            ml.monitors.create(p, "churn-api", name="bad", alert_after="5/3")
        with pytest.raises(InvalidInput, match="label horizon"):
            ml.monitors.create(p, "churn-api", name="bad", label_horizon="soon")
        with pytest.raises(InvalidInput, match="needs time windows"):
            ml.monitors.create(p, "churn-api", name="bad", window=500, no_traffic_after=3)
        with pytest.raises(InvalidInput, match="out of range"):
            ml.monitors.create(p, "churn-api", name="bad", no_traffic_after=0)
        with pytest.raises(NotFound, match="no deployment 'nope'"):
            ml.monitors.create(p, "nope")
        with pytest.raises(NotFound, match="no monitor 'nope'"):
            ml.monitors.get(p, "nope")
        with pytest.raises(InvalidInput, match="may not acknowledge"):
            ml.monitors.create(p, "churn-api", name="bad", owner="stakeholder")
        fan = contract.as_role(p, "stakeholder")
        with pytest.raises(PermissionDenied, match=r"monitor\.manage"):
            fan.monitors.create(p, "churn-api", name="mine")
        assert fan.monitors.get(p, "churn-api").name == "churn-api"  # stakeholders read
        with pytest.raises(PermissionDenied):
            fan.monitors.process(p, "churn-api")
        other = contract.as_role(contract.new_project(), "ml_engineer")
        with pytest.raises(PermissionDenied):
            other.monitors.list_monitors(p)
        with pytest.raises(PermissionDenied):
            other.monitors.create(p, "churn-api", name="theirs")

    def test_windows_persistence_alerts_and_the_inbox(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        w = watched(contract, tmp_path)
        p, ml = w.project, w.ml
        log_hour(w, 0)
        log_hour(w, 1, shift=2.5)  # a one-window blip
        log_hour(w, 2)
        log_hour(w, 3)
        done = ml.monitors.process(p, "churn-api")
        assert done.claimed and done.segments == 4 and done.rows == 800
        assert len(done.closed) == 4 and done.opened == ()
        assert ml.monitors.list_alerts(p) == []  # one blip in 2/3 does not alert
        windows = ml.monitors.history(p, "churn-api")
        assert [x.rows for x in windows] == [200] * 4 and all(x.decided for x in windows)
        assert "x1" in windows[1].flags.get("data_drift", [])
        assert windows[0].start == w.t0 and windows[0].end == w.t0 + timedelta(hours=1)
        # a persistent shift alerts once (2 of the last 3), and grows while it lasts
        for hour in (4, 5, 6):
            log_hour(w, hour, shift=2.5)
            ml.monitors.process(p, "churn-api")
        (alert,) = [a for a in ml.monitors.list_alerts(p) if a.subject == "x1"]
        assert alert.kind is AlertKind.DATA_DRIFT and alert.severity is Severity.WARNING
        assert alert.kind.family == "data_drift"
        assert alert.state is AlertState.OPEN and alert.windows == 3
        assert alert.since == w.t0 + timedelta(hours=4) and "x1" in alert.title
        assert alert.link.startswith("relay monitors report churn-api")
        live = ml.monitors.list_alerts(p)
        assert len({(a.kind, a.subject) for a in live}) == len(live)  # one per condition
        inbox = [i for i in ml.models.inbox(p) if i.kind == "alert"]
        assert alert.id in {i.id for i in inbox}
        assert {i.severity for i in inbox} <= {"warning", "critical"}
        fan = contract.as_role(p, "stakeholder")
        assert [i for i in fan.models.inbox(p) if i.kind == "alert"] == []
        # hand-offs: acknowledge, comment, resolve by hand
        acked = ml.monitors.ack_alert(p, alert.id, note="looking")
        assert acked.state is AlertState.ACKNOWLEDGED and acked.acknowledged_by == ml.user
        with pytest.raises(Conflict):
            ml.monitors.ack_alert(p, alert.id)
        noted = ml.monitors.comment_alert(p, alert.id, "upstream rescaled x1")
        assert [n.what for n in noted.notes] == ["opened", "acknowledged", "comment"]
        assert ml.monitors.get_alert(p, alert.id).notes[-1].text == "upstream rescaled x1"
        # the shift clears: the alert resolves itself once fewer than 2 of the last 3 show it
        log_hour(w, 7)
        ml.monitors.process(p, "churn-api")
        assert ml.monitors.get_alert(p, alert.id).state is AlertState.ACKNOWLEDGED
        log_hour(w, 8)
        ml.monitors.process(p, "churn-api")
        gone = ml.monitors.get_alert(p, alert.id)
        assert gone.state is AlertState.RESOLVED and gone.resolved_by == "@monitor"
        assert alert.id not in {a.id for a in ml.monitors.list_alerts(p)}
        assert alert.id in {a.id for a in ml.monitors.list_alerts(p, include_resolved=True)}
        with pytest.raises(Conflict, match="resolved already"):
            ml.monitors.resolve_alert(p, alert.id, reason="done")
        again = ml.monitors.process(p, "churn-api")
        assert again.claimed and again.segments == 0 and again.closed == ()
        days = ml.monitors.rollups(p, "churn-api", period="day")
        assert sum(d.rows for d in days) == 1800 and sum(d.windows for d in days) == 9
        report = ml.monitors.report(p, "churn-api")
        assert len(report.windows) == 9 and alert.id in {a.id for a in report.alerts}
        assert ml.monitors.history(p, "churn-api", last=2)[-1].seq == report.windows[-1].seq

    def test_model_shift_checks_alert_at_once(self, contract: ContractEnv, tmp_path: Path) -> None:
        w = watched(contract, tmp_path)
        p, ml = w.project, w.ml
        bad = ml.monitors.record_check(
            p, "churn-api", "digest", False, {"expected": "a" * 64, "served": "b" * 64}
        )
        assert bad.kind.value == "digest" and not bad.passed and bad.seq == 1
        (alert,) = ml.monitors.list_alerts(p)
        assert (alert.kind, alert.subject, alert.severity) == (
            AlertKind.MODEL_SHIFT,
            "digest",
            Severity.CRITICAL,
        )
        ml.monitors.record_check(p, "churn-api", "digest", False, {"served": "b" * 64})
        assert len(ml.monitors.list_alerts(p)) == 1  # de-duplicated
        ml.monitors.record_check(p, "churn-api", "digest", True, {})
        assert ml.monitors.list_alerts(p) == []
        assert [c.passed for c in ml.monitors.checks(p, "churn-api")] == [False, False, True]
        with pytest.raises(InvalidInput, match="check kind"):
            ml.monitors.record_check(p, "churn-api", "vibes", True, {})
        ml.monitors.record_check(p, "churn-api", "replay", False, {"message": "3 of 50 differ"})
        (replay,) = ml.monitors.list_alerts(p)
        assert replay.severity is Severity.WARNING and "3 of 50 differ" in replay.title
        done = ml.monitors.resolve_alert(p, replay.id, reason="expected: new preprocessing")
        assert done.state is AlertState.RESOLVED and done.resolved_by == ml.user
        with pytest.raises(PermissionDenied):
            contract.as_role(p, "stakeholder").monitors.ack_alert(p, replay.id)

    def test_late_labels_update_only_their_windows(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        w = watched(contract, tmp_path)
        p, ml = w.project, w.ml
        first = log_hour(w, 0)
        log_hour(w, 1)
        log_hour(w, 2)
        ml.monitors.process(p, "churn-api")
        before = {x.seq: x for x in ml.monitors.history(p, "churn-api")}
        assert all(x.labelled == 0 for x in before.values())
        truth = truth_of(w, 0)
        for pid, label in list(zip(first, truth, strict=True))[:120]:
            ml.deployments.submit_feedback(p, "churn-api", pid, label=label)
        done = ml.monitors.process(p, "churn-api")
        (seq,) = done.updated
        after = {x.seq: x for x in ml.monitors.history(p, "churn-api")}
        assert after[seq].labelled == 120 and after[seq].start == w.t0
        assessment = after[seq].assessment
        assert assessment is not None
        realised = assessment.get("realised") or {}
        assert "auc" in realised or "accuracy" in realised
        for other in set(after) - {seq}:
            assert after[other].labelled == 0
            assert after[other].updated_at == before[other].updated_at

    def test_a_monitor_keeps_the_live_server_it_checks(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        w = watched(contract, tmp_path, name="watched", endpoint="http://127.0.0.1:8600/",
                    no_traffic_after=6)  # fmt: skip
        p, ml = w.project, w.ml
        mon = ml.monitors.get(p, "watched")
        assert (mon.config.endpoint, mon.config.check_every) == ("http://127.0.0.1:8600", 300.0)
        assert mon.config.no_traffic_after == 6
        bad = [
            ("ftp://127.0.0.1/", "not http or https"),
            ("http://ops:s3cret@127.0.0.1:8600", "credentials"),
            ("http://@127.0.0.1:8600", "credentials"),
            ("http://127.0.0.1:8600/?token=x", "query"),
            ("http://", "no host"),
            ("http://127.0.0.1:99999", "not a URL"),
            ("http://127.0.0.1:8600/ x", "spaces"),
            ("127.0.0.1:8600", "not http"),
        ]
        for url, said in bad:
            with pytest.raises(InvalidInput, match=said):
                ml.monitors.set_endpoint(p, "watched", url)
            with pytest.raises(InvalidInput, match=said):
                ml.monitors.create(p, "churn-api", name="bad", endpoint=url)
        with pytest.raises(InvalidInput, match="check every"):
            ml.monitors.set_endpoint(p, "watched", "http://a:1", check_every="1s")
        moved = ml.monitors.set_endpoint(p, "watched", "https://serve.example:443/relay",
                                         check_every="1h")  # fmt: skip
        assert moved.config.endpoint == "https://serve.example:443/relay"
        assert moved.config.check_every == 3600.0 and moved.revision == mon.revision + 1
        assert ml.monitors.get(p, "watched").config == moved.config
        cleared = ml.monitors.set_endpoint(p, "watched", None)
        assert cleared.config.endpoint is None and cleared.config.check_every == 3600.0
        with pytest.raises(PermissionDenied, match=r"monitor\.manage"):
            contract.as_role(p, "stakeholder").monitors.set_endpoint(p, "watched", "http://a:1")
        ml.monitors.archive(p, "watched")
        with pytest.raises(Conflict, match="archived"):
            ml.monitors.set_endpoint(p, "watched", "http://a:1")
        events = contract.admin.audit.log(project=p, entity_kind=EntityKind.MONITOR, limit=50)
        changes = [e for e in events if e.action == "monitor.endpoint" and e.outcome == "ok"]
        assert len(changes) == 2 and {e.actor for e in changes} == {ml.user}

    def test_model_outputs_come_from_the_evaluation_dataset(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        """Input drift stays against the reference (training) data; the prediction baseline
        and calibration come from the evaluation dataset: the one named, else the one the
        served version's applied promotion evaluated it on, else the reference itself."""
        import pyarrow as pa

        from relayml.tables.parquet import write_normalized

        w = watched(contract, tmp_path)
        p, ml = w.project, w.ml
        de = contract.as_role(p, "data_engineer")
        for name, frame in (
            ("holdout", _data(800, seed=7)),
            ("unlabelled", _data(300, seed=8).drop(columns=["y"])),
        ):
            path = tmp_path / f"{name}.parquet"
            write_normalized(pa.Table.from_pandas(frame, preserve_index=False), path, None)
            de.datasets.publish(p, name, path)
        (first,) = ml.monitors.get(p, "churn-api").references
        assert (first.dataset, first.evaluation, first.evaluation_from) == (
            "loans@1",
            None,
            "reference",
        )
        named = ml.monitors.create(p, "churn-api", name="named", target="y", since=w.t0,
                                   evaluation="holdout@1")  # fmt: skip
        assert named.config.evaluation == "holdout@1"
        assert named.config.reference == "loans@1"
        (ref,) = ml.monitors.get(p, "named").references
        assert (ref.dataset, ref.evaluation, ref.evaluation_from) == (
            "loans@1",
            "holdout@1",
            "named",
        )
        assert named.reference_digest != ml.monitors.get(p, "churn-api").reference_digest
        with pytest.raises(InvalidInput, match="no column 'y'"):
            ml.monitors.create(p, "churn-api", name="bad", target="y", evaluation="unlabelled@1")
        with pytest.raises(InvalidInput, match="--target"):
            ml.monitors.create(p, "churn-api", name="bad", evaluation="holdout@1")
        with pytest.raises(NotFound, match="--evaluation"):
            ml.monitors.create(p, "churn-api", name="bad", target="y", evaluation="holdout@9")
        # the served version's applied promotion names the dataset it was evaluated on
        gov = contract.as_role(p, "model_governance")
        req = ml.models.promote(p, "churn@1", "production", dataset="holdout@1", target="y")
        gov.models.approve(req.id)
        ml.deployments.create(p, "prod-api", "churn@production")
        promoted = ml.monitors.create(p, "prod-api", since=w.t0)
        assert promoted.config.evaluation is None and promoted.config.target is None
        (ref,) = promoted.references
        assert (ref.dataset, ref.evaluation, ref.evaluation_from) == (
            "loans@1",
            "holdout@1",
            "promotion",
        )
        events = contract.admin.audit.log(project=p, entity_kind=EntityKind.MONITOR, limit=50)
        made = [e for e in events if e.action == "monitor.create" and e.outcome == "ok"]
        assert len(made) == 3, made
