"""The backend contract for deployments: creating them against the registry, resolving what
they serve as aliases move, traffic rules, promoting a canary without bypassing governance,
rollback, archiving, prediction-log segments and feedback, with roles and audit — the same on
every backend."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from relayml.client.base import Backend
from relayml.domain.audit import EntityKind
from relayml.domain.deployments import (
    ArmRole,
    DeploymentAction,
    DeploymentStatus,
    FeedbackItem,
    TrafficRules,
)
from relayml.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unprocessable
from relayml.testing.contract import ContractEnv

POLICY = """\
separation_of_duties: false
protected:
  production:
    approvals: 1
    approvers: [model_governance]
    evidence: []
"""


@dataclass
class Crew:
    project: str
    ml: Backend  # ML engineer: registers and deploys
    ops: Backend  # DevOps: runs servers, rolls back
    fan: Backend  # stakeholder: sends feedback
    gov: Backend  # governance: approves promotions
    versions: list[Any]


def _register(ml: Backend, project: str, tmp_path: Path, c: float) -> Any:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from relayml.flavors.formats import save_model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    y = (x[:, 0] > 0).astype(int)
    path = tmp_path / f"m-{c}.skops"
    saved = save_model(LogisticRegression(C=c).fit(x, y), path, input_example=x[:3])
    return ml.models.register(
        project,
        "churn",
        path,
        flavor=saved.flavor.value,
        environment=saved.environment.to_dict(),
        signature=saved.signature.to_dict() if saved.signature else None,
    )


def _crew(contract: ContractEnv, tmp_path: Path, versions: int = 3) -> Crew:
    """A project with churn@1..N registered and `stable` (unprotected) on version 1."""
    p = contract.new_project()
    ml = contract.as_role(p, "ml_engineer")
    crew = Crew(
        p,
        ml,
        contract.as_role(p, "devops_engineer"),
        contract.as_role(p, "stakeholder"),
        contract.as_role(p, "model_governance"),
        [_register(ml, p, tmp_path, 0.1 * (i + 1)) for i in range(versions)],
    )
    ml.models.set_alias(p, "churn@1", "stable")
    return crew


def _segment_file(tmp_path: Path, name: str, rows: int = 3) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / name
    table = pa.table({"prediction_id": [f"p{i}-{name}" for i in range(rows)], "x": range(rows)})
    pq.write_table(table, path)
    return path


class DeploymentContract:
    def test_create_follows_the_alias_and_resolve_serves_its_version(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        crew = _crew(contract, tmp_path)
        p, ml, v = crew.project, crew.ml, crew.versions
        dep = ml.deployments.create(p, "churn-api", "churn@stable", reason="first release")
        assert (dep.name, dep.target, dep.model, dep.revision) == (
            "churn-api",
            "churn@stable",
            "churn",
            1,
        )
        assert dep.status is DeploymentStatus.ACTIVE and not dep.pinned
        res = crew.ops.deployments.resolve(p, "churn-api")
        (arm,) = res.arms
        assert (arm.role, arm.ref, arm.version, arm.digest, arm.weight) == (
            ArmRole.PRIMARY,
            "churn@stable",
            1,
            v[0].digest,
            100.0,
        )
        assert arm.flavor == "sklearn" and res.revision == 1 and res.project == p
        # the alias moves (a registry change): the next resolve serves the new version
        ml.models.set_alias(p, "churn@2", "stable")
        (arm,) = crew.fan.deployments.resolve(p, "churn-api").arms
        assert (arm.version, arm.digest) == (2, v[1].digest)
        assert crew.fan.deployments.get(p, "churn-api") == dep
        assert [d.name for d in crew.ops.deployments.list_deployments(p)] == ["churn-api"]
        (created,) = crew.ops.deployments.history(p, "churn-api")
        assert created.action is DeploymentAction.CREATE and created.before is None
        assert (created.after.primary_version, created.who, created.reason) == (
            1,
            ml.user,
            "first release",
        )
        # setting the target it has changes nothing
        assert ml.deployments.set_target(p, "churn-api", "churn@stable") == dep

    def test_traffic_rules_split_between_arms(self, contract: ContractEnv, tmp_path: Path) -> None:
        crew = _crew(contract, tmp_path)
        p, ml, v = crew.project, crew.ml, crew.versions
        rules = TrafficRules("churn@2", 10, "customer_id", "churn@3")
        ml.deployments.create(p, "churn-api", "churn@1", traffic=rules)
        res = ml.deployments.resolve(p, "churn-api")
        arms = {a.role: (a.version, a.digest, a.weight) for a in res.arms}
        assert arms == {
            ArmRole.PRIMARY: (1, v[0].digest, 90.0),
            ArmRole.CANARY: (2, v[1].digest, 10.0),
            ArmRole.SHADOW: (3, v[2].digest, 0.0),
        }
        assert res.sticky_key == "customer_id"
        assert res.weights == [(ArmRole.PRIMARY, 90.0), (ArmRole.CANARY, 10.0)]
        changed = ml.deployments.set_traffic(p, "churn-api", shadow="churn@stable", reason="t")
        assert changed.traffic == TrafficRules(shadow="churn@stable") and changed.revision == 2
        roles = [a.role for a in ml.deployments.resolve(p, "churn-api").arms]
        assert roles == [ArmRole.PRIMARY, ArmRole.SHADOW]
        retargeted = ml.deployments.set_target(p, "churn-api", "churn@3", reason="pin 3")
        assert retargeted.target == "churn@3" and retargeted.pinned and retargeted.revision == 3
        last = ml.deployments.history(p, "churn-api")[0]
        assert last.action is DeploymentAction.SET_TARGET
        assert (last.before and last.before.primary_version, last.after.primary_version) == (1, 3)

    def test_bad_input_is_refused_and_leaves_nothing(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        crew = _crew(contract, tmp_path, versions=2)
        p, ml = crew.project, crew.ml
        cases: list[tuple[type[Exception], str, dict[str, Any]]] = [
            (NotFound, "no model 'fraud'", {"target": "fraud@1"}),
            (NotFound, "has no version 9", {"target": "churn@9"}),
            (NotFound, "holds alias 'nowhere'", {"target": "churn@nowhere"}),
            (InvalidInput, "not 'churn@latest'", {"target": "churn@latest"}),
            (InvalidInput, "versions go up to", {"target": f"churn@{2**63}"}),
            (InvalidInput, "invalid deployment name", {"name": "churn api"}),
            (InvalidInput, "invalid deployment name", {"name": "x" * 200}),
            (InvalidInput, "limit is 2000", {"reason": "r" * 2001}),
            (InvalidInput, "lone surrogate", {"reason": "bad \ud800"}),
            (InvalidInput, "out of range", {"traffic": TrafficRules("churn@2", 100)}),
            (InvalidInput, "out of range", {"traffic": TrafficRules("churn@2", math.nan)}),
            (InvalidInput, "needs the share", {"traffic": TrafficRules("churn@2")}),
            (InvalidInput, "own target", {"traffic": TrafficRules(shadow="churn@1")}),
            (InvalidInput, "names model", {"traffic": TrafficRules(shadow="fraud@1")}),
            (NotFound, "has no version 7", {"traffic": TrafficRules(shadow="churn@7")}),
        ]
        for error, message, change in cases:
            kwargs = {"name": "churn-api", "target": "churn@1", **change}
            with pytest.raises(error, match=message):
                ml.deployments.create(p, **kwargs)
        assert ml.deployments.list_deployments(p, include_archived=True) == []
        with pytest.raises(NotFound, match="no deployment 'churn-api'"):
            ml.deployments.history(p, "churn-api")
        ml.models.archive(p, "churn@2")
        with pytest.raises(Conflict, match="archived"):
            ml.deployments.create(p, "churn-api", "churn@2")
        ml.deployments.create(p, "churn-api", "churn@1")
        with pytest.raises(Conflict, match="exists"):
            ml.deployments.create(p, "churn-api", "churn@1")
        with pytest.raises(InvalidInput, match="serves one model"):
            ml.deployments.set_target(p, "churn-api", "fraud@1")
        with pytest.raises(InvalidInput, match="without a canary"):
            ml.deployments.set_traffic(p, "churn-api", canary_percent=5)
        assert ml.deployments.get(p, "churn-api").revision == 1
        # a version a deployment pins cannot be archived under it
        with pytest.raises(Conflict, match="deployment churn-api"):
            ml.models.archive(p, "churn@1")

    def test_a_pickle_is_served_only_with_consent(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        crew = _crew(contract, tmp_path, versions=1)
        p, ml = crew.project, crew.ml
        path = tmp_path / "raw.pkl"
        path.write_bytes(pickle.dumps({"not": "a model"}))
        env = crew.versions[0].environment.to_dict()
        ml.models.register(p, "raw", path, flavor="pickle", environment=env, unsafe_pickle=True)
        with pytest.raises(Unprocessable, match="pickle"):
            ml.deployments.create(p, "raw-api", "raw@1")
        dep = ml.deployments.create(p, "raw-api", "raw@1", unsafe_pickle=True)
        res = ml.deployments.resolve(p, "raw-api")
        assert dep.unsafe_pickle and res.unsafe_pickle and res.arms[0].flavor == "pickle"

    def test_promote_canary_repins_a_pinned_deployment(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        crew = _crew(contract, tmp_path)
        p, ml = crew.project, crew.ml
        ml.deployments.create(
            p, "churn-api", "churn@1", traffic=TrafficRules("churn@2", 20, shadow="churn@3")
        )
        dep = ml.deployments.promote_canary(p, "churn-api", reason="canary healthy")
        assert dep.target == "churn@2" and dep.traffic == TrafficRules(shadow="churn@3")
        last = ml.deployments.history(p, "churn-api")[0]
        assert last.action is DeploymentAction.PROMOTE_CANARY and last.reason == "canary healthy"
        assert (last.before and last.before.primary_version, last.after.primary_version) == (1, 2)
        with pytest.raises(Unprocessable, match="no canary"):
            ml.deployments.promote_canary(p, "churn-api")

    def test_promote_canary_never_moves_an_alias(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        crew = _crew(contract, tmp_path)
        p, ml = crew.project, crew.ml
        ml.deployments.create(p, "churn-api", "churn@stable", traffic=TrafficRules("churn@2", 10))
        with pytest.raises(Conflict, match="relay models set-alias churn@2 stable"):
            ml.deployments.promote_canary(p, "churn-api")
        ml.models.set_alias(p, "churn@2", "stable")
        dep = ml.deployments.promote_canary(p, "churn-api")
        assert dep.target == "churn@stable" and dep.traffic == TrafficRules()
        # a protected alias: the canary is promoted only after an approved request
        crew.gov.models.apply_policy(p, POLICY)
        request = ml.models.promote(p, "churn@1", "production")
        crew.gov.models.approve(request.id)
        ml.deployments.create(p, "prod-api", "churn@production", traffic=TrafficRules("churn@3", 5))
        with pytest.raises(Conflict, match="relay models promote churn@3 --to production"):
            ml.deployments.promote_canary(p, "prod-api")
        assert ml.models.get(p, "churn@production").version == 1
        crew.gov.models.approve(ml.models.promote(p, "churn@3", "production").id)
        assert ml.deployments.promote_canary(p, "prod-api").traffic.canary is None
        (arm,) = ml.deployments.resolve(p, "prod-api").arms
        assert arm.version == 3

    def test_rollback_returns_to_the_version_served_before_and_pins(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        crew = _crew(contract, tmp_path)
        p, ml, ops = crew.project, crew.ml, crew.ops
        ml.deployments.create(p, "churn-api", "churn@stable")
        with pytest.raises(Unprocessable, match="nothing to roll back to"):
            ops.deployments.rollback(p, "churn-api")
        ml.models.set_alias(p, "churn@2", "stable")
        ml.models.set_alias(p, "churn@3", "stable")
        dep = ops.deployments.rollback(p, "churn-api", reason="errors up")
        assert dep.target == "churn@2" and dep.pinned and dep.updated_by == ops.user
        assert [a.version for a in ops.deployments.resolve(p, "churn-api").arms] == [2]
        last = ops.deployments.history(p, "churn-api")[0]
        assert last.action is DeploymentAction.ROLLBACK and last.who == ops.user
        assert (last.before and last.before.primary_version, last.after.primary_version) == (3, 2)
        # again: further back, never forth to the version just left
        assert ops.deployments.rollback(p, "churn-api").target == "churn@1"
        with pytest.raises(Unprocessable, match="nothing to roll back to"):
            ops.deployments.rollback(p, "churn-api")
        # with a canary live, a rollback sends everything back to the primary
        ml.deployments.set_traffic(p, "churn-api", canary="churn@3", canary_percent=50)
        dep = ops.deployments.rollback(p, "churn-api")
        assert (dep.target, dep.traffic) == ("churn@1", TrafficRules())
        # following the alias again is a deliberate change
        ml.deployments.set_target(p, "churn-api", "churn@stable")
        assert [a.version for a in ml.deployments.resolve(p, "churn-api").arms] == [3]

    def test_deployment_roles(self, contract: ContractEnv, tmp_path: Path) -> None:
        crew = _crew(contract, tmp_path, versions=2)
        p = crew.project
        with pytest.raises(PermissionDenied, match=r"deployment\.create"):
            crew.ops.deployments.create(p, "ops-api", "churn@1")
        with pytest.raises(PermissionDenied, match=r"deployment\.create"):
            crew.fan.deployments.create(p, "fan-api", "churn@1")
        scientist = contract.as_role(p, "data_scientist")
        with pytest.raises(PermissionDenied, match=r"deployment\.create"):
            scientist.deployments.create(p, "ds-api", "churn@1")
        mlops = contract.as_role(p, "mlops_engineer")
        mlops.deployments.create(p, "churn-api", "churn@1")
        with pytest.raises(PermissionDenied, match=r"deployment\.create"):
            crew.ops.deployments.set_traffic(p, "churn-api", canary="churn@2", canary_percent=5)
        with pytest.raises(PermissionDenied, match=r"deployment\.create"):
            crew.ops.deployments.archive(p, "churn-api")
        with pytest.raises(PermissionDenied, match=r"feedback\.submit"):
            crew.ops.deployments.submit_feedback(p, "churn-api", "p1", label=1)
        crew.fan.deployments.submit_feedback(p, "churn-api", "p1", label=1)
        # a user of another project sees nothing of this one
        elsewhere = contract.as_role(contract.new_project(), "ml_engineer", "devops_engineer")
        for attempt in (
            lambda: elsewhere.deployments.get(p, "churn-api"),
            lambda: elsewhere.deployments.list_deployments(p),
            lambda: elsewhere.deployments.resolve(p, "churn-api"),
            lambda: elsewhere.deployments.list_feedback(p, "churn-api"),
            lambda: elsewhere.deployments.rollback(p, "churn-api"),
        ):
            with pytest.raises(PermissionDenied):
                attempt()
        # every change is audited with its action and the deployment as the entity
        events = contract.admin.audit.log(project=p, entity_kind=EntityKind.DEPLOYMENT)
        ok = [(e.action, e.actor) for e in events if e.outcome == "ok"]
        assert ("deployment.create", mlops.user) in ok
        assert ("feedback.submit", crew.fan.user) in ok
        denied = {e.action for e in events if e.outcome == "denied"}
        assert {"deployment.create", "feedback.submit"} <= denied

    def test_archive_stops_serving_and_refuses_changes(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        crew = _crew(contract, tmp_path, versions=2)
        p, ml = crew.project, crew.ml
        ml.deployments.create(p, "churn-api", "churn@stable")
        dep = ml.deployments.archive(p, "churn-api", reason="retired")
        assert dep.status is DeploymentStatus.ARCHIVED and dep.revision == 2
        assert ml.deployments.resolve(p, "churn-api").arms == ()
        changes: list[Callable[[], object]] = [
            lambda: ml.deployments.set_target(p, "churn-api", "churn@2"),
            lambda: ml.deployments.set_traffic(p, "churn-api", shadow="churn@2"),
            lambda: ml.deployments.promote_canary(p, "churn-api"),
            lambda: crew.ops.deployments.rollback(p, "churn-api"),
            lambda: ml.deployments.archive(p, "churn-api"),
        ]
        for change in changes:
            with pytest.raises(Conflict, match="archived"):
                change()
        assert ml.deployments.list_deployments(p) == []
        assert [d.name for d in ml.deployments.list_deployments(p, include_archived=True)] == [
            "churn-api"
        ]
        # late ground truth still arrives; a version it served may now be archived
        crew.fan.deployments.submit_feedback(p, "churn-api", "late-1", outcome=3.5)
        ml.models.set_alias(p, "churn@2", "stable")
        ml.models.archive(p, "churn@1")

    def test_feedback_is_kept_by_prediction_id(self, contract: ContractEnv, tmp_path: Path) -> None:
        crew = _crew(contract, tmp_path, versions=1)
        p, fan, ml = crew.project, crew.fan, crew.ml
        ml.deployments.create(p, "churn-api", "churn@1")
        first = fan.deployments.submit_feedback(
            p, "churn-api", "pred-1", label="churned", comment="called us to cancel"
        )
        assert (first.prediction_id, first.label, first.outcome, first.who) == (
            "pred-1",
            "churned",
            None,
            fan.user,
        )
        with pytest.raises(Conflict, match="already has feedback"):
            fan.deployments.submit_feedback(p, "churn-api", "pred-1", label="stayed")
        again = fan.deployments.submit_feedback(
            p, "churn-api", "pred-1", label="stayed", replace=True
        )
        assert again.label == "stayed" and again.comment is None
        ml.deployments.submit_feedback(p, "churn-api", "pred-2", outcome=129.5)
        ml.deployments.submit_feedback(p, "churn-api", "pred-3", label=True)
        ml.deployments.submit_feedback(p, "churn-api", "pred-4", label=2**63 - 1)
        found = crew.ops.deployments.list_feedback(
            p, "churn-api", prediction_ids=["pred-3", "pred-1", "unknown", "pred-4"]
        )
        assert {f.prediction_id: f.label for f in found} == {
            "pred-1": "stayed",
            "pred-3": True,
            "pred-4": 2**63 - 1,
        }
        assert isinstance(found[[f.prediction_id for f in found].index("pred-3")].label, bool)
        every = fan.deployments.list_feedback(p, "churn-api")
        assert [f.prediction_id for f in every] == ["pred-1", "pred-2", "pred-3", "pred-4"]
        assert every[1].outcome == 129.5 and every[1].label is None
        later = fan.deployments.list_feedback(p, "churn-api", since=every[2].at, limit=1)
        assert [f.prediction_id for f in later] == ["pred-3"]
        bad: list[tuple[str, dict[str, Any]]] = [
            ("needs a label", {"comment": "only words"}),
            ("not a finite number", {"label": math.nan}),
            ("not a finite number", {"outcome": math.inf}),
            ("lone surrogate", {"label": 1, "comment": "x\udc80"}),
            ("limit is 1000", {"label": "y" * 1001}),
            ("must be text, a number", {"label": [1, 2]}),
        ]
        for message, values in bad:
            with pytest.raises(InvalidInput, match=message):
                fan.deployments.submit_feedback(p, "churn-api", "pred-9", **values)
        with pytest.raises(InvalidInput, match="invalid prediction id"):
            fan.deployments.submit_feedback(p, "churn-api", "has space", label=1)
        with pytest.raises(NotFound, match="no deployment"):
            fan.deployments.submit_feedback(p, "nope", "pred-9", label=1)
        assert len(fan.deployments.list_feedback(p, "churn-api", limit=10)) == 4

    def test_feedback_arrives_in_batches_all_or_nothing(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        crew = _crew(contract, tmp_path, versions=1)
        p, fan, ml = crew.project, crew.fan, crew.ml
        ml.deployments.create(p, "churn-api", "churn@1")
        items = [FeedbackItem(f"b-{i}", label=i % 2) for i in range(2500)]
        items[7] = FeedbackItem("b-7", outcome=4.5, comment="late, by phone")
        batch = fan.deployments.submit_feedback_batch(p, "churn-api", items)
        assert (batch.added, batch.replaced, len(batch.sha256)) == (2500, 0, 64)
        found = {
            f.prediction_id: f for f in fan.deployments.list_feedback(p, "churn-api", limit=3000)
        }
        assert len(found) == 2500 and found["b-4"].label == 0 and found["b-5"].label == 1
        assert (found["b-7"].outcome, found["b-7"].comment, found["b-7"].who) == (
            4.5,
            "late, by phone",
            fan.user,
        )
        # one prediction already labelled: the whole batch is refused, nothing of it written
        again = [FeedbackItem("c-1", label=1), FeedbackItem("b-3", label=0)]
        with pytest.raises(Conflict, match="b-3"):
            fan.deployments.submit_feedback_batch(p, "churn-api", again)
        assert fan.deployments.list_feedback(p, "churn-api", prediction_ids=["c-1"]) == []
        redo = fan.deployments.submit_feedback_batch(p, "churn-api", again, replace=True)
        assert (redo.added, redo.replaced) == (1, 1)
        assert fan.deployments.list_feedback(p, "churn-api", prediction_ids=["b-3"])[0].label == 0
        bad: list[tuple[str, list[Any]]] = [
            ("1 to 10000 items", []),
            ("1 to 10000 items", [FeedbackItem(f"x-{i}", label=1) for i in range(10_001)]),
            ("appears twice", [FeedbackItem("d-1", label=1), FeedbackItem("d-1", label=0)]),
            (
                "item 1 .d-2.: feedback needs a label",
                [FeedbackItem("d-1", label=1), FeedbackItem("d-2")],
            ),
            ("invalid prediction id", [FeedbackItem("has space", label=1)]),
            ("not a finite number", [FeedbackItem("d-3", outcome=math.inf)]),
        ]
        for message, values in bad:
            with pytest.raises(InvalidInput, match=message):
                fan.deployments.submit_feedback_batch(p, "churn-api", values)
        with pytest.raises(PermissionDenied, match=r"feedback\.submit"):
            crew.ops.deployments.submit_feedback_batch(
                p, "churn-api", [FeedbackItem("e-1", label=1)]
            )
        elsewhere = contract.as_role(contract.new_project(), "stakeholder")
        with pytest.raises(PermissionDenied):
            elsewhere.deployments.submit_feedback_batch(
                p, "churn-api", [FeedbackItem("e-1", label=1)]
            )
        # one audit event per batch (its payload: count and digest), on the deployment itself
        events = contract.admin.audit.log(project=p, entity_kind=EntityKind.DEPLOYMENT)
        batches = [
            e.actor
            for e in events
            if e.outcome == "ok" and e.action == "feedback.submit" and e.entity_id == "churn-api"
        ]
        assert batches == [fan.user, fan.user]

    def test_traffic_counts_requests_per_arm_from_the_log(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        crew = _crew(contract, tmp_path)
        p, ops = crew.project, crew.ops
        crew.ml.deployments.create(p, "churn-api", "churn@1")
        t0 = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
        # (arm, version, minute, request, rows, latency): a request of 3 rows counts once
        answers = [("primary", 1, m, f"r{m}", 3, 2.0 + m) for m in range(1, 9)]
        answers += [("canary", 2, 4, f"c{i}", 1, 20.0) for i in range(4)]
        answers += [("primary", 1, 5, "relay-golden-1", 50, 99.0)]  # a replay: no traffic
        for seq, arm in enumerate(("primary", "canary")):
            mine = [a for a in answers if a[0] == arm]
            rows = [(a, i) for a in mine for i in range(a[4])]
            table = pa.table(
                {
                    "prediction_id": [f"{a[3]}-{i}" for a, i in rows],
                    "ts": pa.array([t0 + timedelta(minutes=a[2]) for a, _ in rows],
                                   pa.timestamp("us", tz="UTC")),
                    "arm": [a[0] for a, _ in rows],
                    "version": pa.array([a[1] for a, _ in rows], pa.int64()),
                    "request_id": [a[3] for a, _ in rows],
                    "latency_ms": [a[5] for a, _ in rows],
                }
            )  # fmt: skip
            path = tmp_path / f"{arm}.parquet"
            pq.write_table(table, path)
            ops.deployments.record_segment(
                p, "churn-api", path, uri=f"serving/{p}/churn-api/d/s-{seq}.parquet",
                records=len(rows), first_at=t0, last_at=t0 + timedelta(minutes=9),
                server_id="s",
            )  # fmt: skip
        as_of = t0 + timedelta(minutes=9, seconds=30)
        found = crew.fan.deployments.traffic(p, "churn-api", minutes=10, as_of=as_of)
        assert found.start == t0 and found.minutes == 10 and found.as_of == as_of
        assert found.per_minute == {
            "primary": (0, 1, 1, 1, 1, 1, 1, 1, 1, 0),
            "canary": (0, 0, 0, 0, 4, 0, 0, 0, 0, 0),
        }
        assert (found.requests, found.rows, found.segments, found.complete) == (12, 28, 2, True)
        primary, canary = found.arms
        assert (primary.arm, primary.version, primary.requests, primary.rows) == (
            "primary", 1, 8, 24,
        )  # fmt: skip
        assert primary.latency_ms["p50"] == 6.5 and canary.latency_ms["p99"] == 20.0
        assert crew.fan.deployments.traffic(p, "churn-api", minutes=3, as_of=as_of).requests == 2
        with pytest.raises(InvalidInput, match="minutes must be a whole number"):
            ops.deployments.traffic(p, "churn-api", minutes=0)
        with pytest.raises(InvalidInput, match="time zone"):
            ops.deployments.traffic(p, "churn-api", as_of=datetime(2025, 1, 31))
        with pytest.raises(NotFound):
            ops.deployments.traffic(p, "no-such-api")

    def test_segments_are_registered_listed_and_read_back(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        crew = _crew(contract, tmp_path, versions=1)
        p, ops = crew.project, crew.ops
        crew.ml.deployments.create(p, "churn-api", "churn@1")
        t0 = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
        prefix = f"serving/{p}/churn-api/2025-01-31"
        one = ops.deployments.record_segment(
            p,
            "churn-api",
            _segment_file(tmp_path, "a.parquet"),
            uri=f"{prefix}/srv-1-000001.parquet",
            records=3,
            first_at=t0,
            last_at=t0 + timedelta(minutes=1),
            server_id="srv-1",
        )
        two = crew.ml.deployments.record_segment(
            p,
            "churn-api",
            _segment_file(tmp_path, "b.parquet", rows=5),
            uri=f"{prefix}/srv-1-000002.parquet",
            records=5,
            first_at=t0 + timedelta(minutes=2),
            last_at=t0 + timedelta(minutes=3),
            server_id="srv-1",
        )
        assert (one.records, one.server_id, one.deployment, one.project) == (
            3,
            "srv-1",
            "churn-api",
            p,
        )
        listed = crew.fan.deployments.list_segments(p, "churn-api")
        assert [s.id for s in listed] == [one.id, two.id]
        window = crew.fan.deployments.list_segments(
            p, "churn-api", since=t0 + timedelta(minutes=2, seconds=30)
        )
        assert [s.id for s in window] == [two.id]
        early = ops.deployments.list_segments(p, "churn-api", until=t0 + timedelta(seconds=30))
        assert [s.id for s in early] == [one.id]
        got = crew.fan.deployments.download_segment(p, "churn-api", one.id, tmp_path / "got")
        assert got.read_bytes() == (tmp_path / "a.parquet").read_bytes()
        # a retry of the same file under the same uri is the same segment; other bytes are not
        retry = ops.deployments.record_segment(
            p,
            "churn-api",
            tmp_path / "a.parquet",
            uri=one.uri,
            records=3,
            first_at=one.first_at,
            last_at=one.last_at,
            server_id="srv-1",
        )
        assert retry.id == one.id
        with pytest.raises(Conflict, match="other bytes"):
            ops.deployments.record_segment(
                p,
                "churn-api",
                tmp_path / "b.parquet",
                uri=one.uri,
                records=5,
                first_at=t0,
                last_at=t0,
                server_id="srv-1",
            )
        bad: list[tuple[str, dict[str, Any]]] = [
            ("must be a Parquet file under", {"uri": f"serving/{p}/other/x.parquet"}),
            ("or empty parts", {"uri": f"{prefix}/../../x.parquet"}),
            ("positive count", {"records": 0}),
            ("time zone", {"first_at": datetime(2025, 1, 1)}),
            ("after its last_at", {"first_at": t0 + timedelta(days=1)}),
        ]
        for message, change in bad:
            kwargs: dict[str, Any] = {
                "uri": f"{prefix}/srv-2-000001.parquet",
                "records": 1,
                "first_at": t0,
                "last_at": t0,
                "server_id": "srv-2",
                **change,
            }
            with pytest.raises(InvalidInput, match=message):
                ops.deployments.record_segment(p, "churn-api", tmp_path / "a.parquet", **kwargs)
        with pytest.raises(PermissionDenied, match=r"prediction_log\.write"):
            crew.fan.deployments.record_segment(
                p,
                "churn-api",
                tmp_path / "a.parquet",
                uri=f"{prefix}/fan.parquet",
                records=1,
                first_at=t0,
                last_at=t0,
                server_id="fan",
            )
        with pytest.raises(NotFound, match="no segment"):
            ops.deployments.download_segment(p, "churn-api", "0" * 32, tmp_path / "x")
        assert len(ops.deployments.list_segments(p, "churn-api")) == 2
