"""The backend contract for deployments: creating them against the registry, resolving what
they serve as aliases move, traffic rules, promoting a canary without bypassing governance,
rollback, archiving, with roles and audit — the same on every backend. Prediction-log segments,
feedback and traffic are `testing/contract_deployments_data.py`'s."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from relayml.client.base import Backend
from relayml.domain.audit import EntityKind
from relayml.domain.deployments import (
    ArmRole,
    DeploymentAction,
    DeploymentStatus,
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
