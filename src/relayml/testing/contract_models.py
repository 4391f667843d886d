"""The backend contract for the model registry: registering and reading versions, aliases and
their protection, promotion requests with evidence, separation of duties, policy, requirements,
cards and the inbox — the same on every backend."""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from relayml.client.base import Backend
from relayml.domain.audit import EntityKind
from relayml.domain.models import Evidence, RequestState, VersionStatus
from relayml.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unprocessable,
)
from relayml.testing.contract import ContractEnv

POLICY = """\
separation_of_duties: true
protected:
  production:
    approvals: 1
    approvers: [model_governance]
    evidence: [load_check, data_checks, evaluation, requirements]
    allow_override: true
"""


@dataclass
class Team:
    project: str
    ds: Backend  # data scientist: trains, registers, requests
    gov: Backend  # governance: approves
    eng: Backend  # data engineer: publishes the data
    holder: Any = None


def _data(seed: int = 0, n: int = 300) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    region = np.where(rng.random(n) < 0.5, "north", "south")
    y = ((x1 + 0.5 * x2 + rng.normal(scale=0.5, size=n)) > 0).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "region": region, "label": y})


def _model_file(tmp_path: Path, name: str, noise: bool = False) -> tuple[Path, Any]:
    from sklearn.linear_model import LogisticRegression

    from relayml.flavors.formats import save_model

    df = _data()
    X = df[["x1", "x2"]]
    y = df["label"].sample(frac=1.0, random_state=1).to_numpy() if noise else df["label"]
    model = LogisticRegression().fit(X, y)
    path = tmp_path / f"{name}.skops"
    return path, save_model(model, path, input_example=X[:5])


def _register(
    team: Team, tmp_path: Path, name: str, run_id: str | None, noise: bool = False
) -> Any:
    path, saved = _model_file(tmp_path, name, noise)
    return team.ds.models.register(
        team.project,
        "churn",
        path,
        flavor=saved.flavor.value,
        environment=saved.environment.to_dict(),
        signature=saved.signature.to_dict(),
        run_id=run_id,
    )


def _team(contract: ContractEnv, tmp_path: Path) -> tuple[Team, str]:
    """A project with a published holdout, a run that used it, and the three roles."""
    from relayml.tables.parquet import write_normalized

    p = contract.new_project()
    team = Team(
        p,
        contract.as_role(p, "data_scientist"),
        contract.as_role(p, "model_governance"),
        contract.as_role(p, "data_engineer"),
    )
    write_normalized(_data(seed=7), tmp_path / "holdout.parquet", None)
    team.eng.datasets.publish(p, "holdout", tmp_path / "holdout.parquet")
    run = team.ds.tracking.create_run(project=p, experiment="churn")
    team.ds.datasets.use(run.id, "holdout@1")
    return team, run.id


class ModelContract:
    def test_register_read_and_download(self, contract: ContractEnv, tmp_path: Path) -> None:
        team, run_id = _team(contract, tmp_path)
        mv = _register(team, tmp_path, "a", run_id)
        assert (mv.ref, mv.version, mv.flavor.value, mv.run_id) == ("churn@1", 1, "sklearn", run_id)
        assert mv.signature is not None and mv.signature.names == ["x1", "x2"]
        assert "scikit-learn" in mv.environment.packages and not mv.unsafe_pickle
        path = tmp_path / "a.skops"  # the same bytes again (a retried call): the same version
        again = team.ds.models.register(
            team.project, "churn", path, flavor="sklearn", environment=mv.environment.to_dict()
        )
        assert again.version == 1 and again.digest == mv.digest
        second = _register(team, tmp_path, "b", run_id, noise=True)
        assert second.version == 2 and second.digest != mv.digest
        assert [v.version for v in team.ds.models.versions(team.project, "churn")] == [1, 2]
        (info,) = team.gov.models.list_models(team.project)
        assert (info.name, info.versions, info.latest) == ("churn", 2, 2)
        assert team.gov.models.get(team.project, "churn").version == 2
        out = team.gov.models.download(team.project, "churn@1", tmp_path / "out" / "m.skops")
        assert hashlib.sha256(out.read_bytes()).hexdigest() == mv.digest
        with pytest.raises(NotFound, match="no version 9"):
            team.gov.models.get(team.project, "churn@9")
        with pytest.raises(NotFound, match="no model"):
            team.gov.models.get(team.project, "nope")
        with pytest.raises(InvalidInput):
            team.gov.models.get(team.project, "churn@../x")
        with pytest.raises(PermissionDenied):  # governance does not register models
            _register(Team(team.project, team.gov, team.gov, team.eng), tmp_path, "c", None)

    def test_a_golden_set_is_kept_checked_and_downloaded(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        import pyarrow.parquet as pq

        from relayml.flavors.formats import load_model
        from relayml.flavors.golden import PREDICTION, build_golden, read_golden

        team, run_id = _team(contract, tmp_path)
        p = team.project
        path, saved = _model_file(tmp_path, "g")
        sample = _data(seed=3, n=40)[["x1", "x2"]]
        loaded = load_model(saved.data, flavor=saved.flavor, digest=saved.digest,
                            signature=saved.signature)  # fmt: skip
        golden = tmp_path / "golden.parquet"
        golden.write_bytes(build_golden(loaded, input_example=sample[:5], golden=sample))
        reg = {"flavor": "sklearn", "environment": saved.environment.to_dict(),
               "signature": saved.signature.to_dict(), "run_id": run_id}  # fmt: skip
        mv = team.ds.models.register(p, "churn", path, golden_file=golden, **reg)
        assert mv.golden is not None and mv.golden.rows == 45
        assert mv.golden.digest == hashlib.sha256(golden.read_bytes()).hexdigest()
        assert team.gov.models.get(p, "churn@1").golden == mv.golden
        out = team.gov.models.download_golden(p, "churn@1", tmp_path / "out" / "g.parquet")
        assert out.read_bytes() == golden.read_bytes()
        back = read_golden(out.read_bytes(), mv.signature)
        assert back.predictions == loaded.predict(back.inputs).tolist()
        assert back.where(0) == "row 0 of the input example"
        assert back.where(5) == "row 0 of the golden sample"
        # a file that is not a golden set of this signature is refused, and nothing registered
        bad = tmp_path / "bad.parquet"
        pq.write_table(pq.read_table(golden).drop_columns([PREDICTION]), bad)
        other, other_saved = _model_file(tmp_path, "h", noise=True)
        reg_h = {**reg, "environment": other_saved.environment.to_dict()}
        with pytest.raises(InvalidInput, match="golden set"):
            team.ds.models.register(p, "churn", other, golden_file=bad, **reg_h)
        with pytest.raises(InvalidInput, match="needs the version's signature"):
            team.ds.models.register(p, "churn", other, flavor="sklearn", golden_file=golden,
                                    environment=reg_h["environment"])  # fmt: skip
        assert [v.version for v in team.gov.models.versions(p, "churn")] == [1]
        plain = team.ds.models.register(p, "churn", other, **reg_h)
        assert plain.golden is None
        with pytest.raises(NotFound, match="no golden set"):
            team.gov.models.download_golden(p, plain.ref, tmp_path / "none.parquet")
        outsider = contract.as_role(contract.new_project(), "ml_engineer")
        with pytest.raises((PermissionDenied, NotFound)):
            outsider.models.download_golden(p, "churn@1", tmp_path / "x.parquet")

    def test_a_pickle_needs_unsafe_pickle_and_says_so(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        from relayml.domain.models import Flavor
        from relayml.flavors.environment import capture

        team, _ = _team(contract, tmp_path)
        path = tmp_path / "m.pkl"
        path.write_bytes(pickle.dumps({"not": "a model"}))
        env = capture(Flavor.PICKLE).to_dict()
        with pytest.raises(Unprocessable, match="unsafe_pickle"):
            team.ds.models.register(team.project, "raw", path, flavor="pickle", environment=env)
        mv = team.ds.models.register(
            team.project, "raw", path, flavor="pickle", environment=env, unsafe_pickle=True
        )
        assert mv.unsafe_pickle and team.gov.models.versions(team.project, "raw")[0].unsafe_pickle

    def test_aliases_protection_and_history(self, contract: ContractEnv, tmp_path: Path) -> None:
        team, run_id = _team(contract, tmp_path)
        _register(team, tmp_path, "a", run_id)
        _register(team, tmp_path, "b", run_id, noise=True)
        p = team.project
        moved = team.ds.models.set_alias(p, "churn@1", "staging", reason="first try")
        assert "staging" in moved.aliases
        team.ds.models.set_alias(p, "churn@2", "staging")
        assert team.gov.models.get(p, "churn@staging").version == 2
        with pytest.raises(PermissionDenied, match="protected"):
            team.ds.models.set_alias(p, "churn@1", "production")
        with pytest.raises(PermissionDenied):  # a stakeholder moves no alias
            contract.as_role(p, "stakeholder").models.set_alias(p, "churn@1", "staging")
        history = team.gov.models.history(p, "churn")
        assert [(m.alias, m.from_version, m.to_version) for m in history] == [
            ("staging", 1, 2),
            ("staging", None, 1),
        ]
        assert history[1].reason == "first try" and history[1].request_id is None
        with pytest.raises(Conflict, match="in use"):
            team.ds.models.archive(p, "churn@2")
        archived = team.ds.models.archive(p, "churn@1")
        assert archived.status is VersionStatus.ARCHIVED
        assert team.gov.models.get(p, "churn").version == 2
        tagged = team.ds.models.set_tags(p, "churn@2", {"stage": "candidate"})
        assert tagged.tags == {"stage": "candidate"}

    def test_promotion_with_evidence_and_separation_of_duties(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        team, run_id = _team(contract, tmp_path)
        p = team.project
        _register(team, tmp_path, "a", run_id)
        team.gov.models.apply_policy(
            p, POLICY + "evaluation:\n  dataset: holdout@1\n  target: label\n"
        )
        both = contract.as_role(p, "data_scientist", "model_governance")
        req = both.models.promote(p, "churn@1", "production", note="beats nothing yet")
        assert req.state is RequestState.OPEN and req.holder_version is None
        ev = {e.name: e for e in req.evidence}
        assert ev[Evidence.LOAD_CHECK].ok and ev[Evidence.DATA_CHECKS].ok
        assert ev[Evidence.EVALUATION].ok
        assert ev[Evidence.EVALUATION].details["candidate"]["metrics"]["auc"] > 0.8
        with pytest.raises(PermissionDenied, match="separation of duties"):
            both.models.approve(req.id)  # the requester may not approve
        with pytest.raises(PermissionDenied):
            team.ds.models.approve(req.id)  # nor may a role the policy does not name
        inbox = team.gov.models.inbox(p)
        assert [(i.kind, i.id) for i in inbox] == [("promotion_request", req.id)]
        assert both.models.inbox(p) == []  # not one's own request
        team.gov.models.comment(req.id, "looking at the slices")
        done = team.gov.models.approve(req.id, "evidence checked")
        assert done.state is RequestState.APPLIED and done.decided_by == team.gov.user
        assert "production" in team.ds.models.get(p, "churn@production").aliases
        (move,) = team.gov.models.history(p, "churn", "production")
        assert (move.to_version, move.request_id, move.by) == (1, req.id, team.gov.user)
        with pytest.raises(Conflict, match="applied"):
            team.gov.models.approve(req.id)
        assert team.gov.models.get_request(req.id).reviews[0].text == "looking at the slices"
        listed = team.gov.models.list_requests(p, state="applied")
        assert [r.id for r in listed] == [req.id]
        events = contract.admin.audit.log(project=p, entity_kind=EntityKind.REQUEST)
        assert {e.action for e in events} >= {"promotion.request", "promotion.approve"}

    def test_the_run_author_may_not_approve(self, contract: ContractEnv, tmp_path: Path) -> None:
        from relayml.tables.parquet import write_normalized

        p = contract.new_project()
        author = contract.as_role(p, "data_scientist", "model_governance")
        eng = contract.as_role(p, "data_engineer")
        write_normalized(_data(seed=7), tmp_path / "h.parquet", None)
        eng.datasets.publish(p, "holdout", tmp_path / "h.parquet")
        run = author.tracking.create_run(project=p, experiment="e")
        author.datasets.use(run.id, "holdout@1")
        team = Team(p, author, contract.as_role(p, "model_governance"), eng)
        _register(team, tmp_path, "a", run.id)
        other = contract.as_role(p, "data_scientist")
        req = other.models.promote(p, "churn@1", "production", dataset="holdout@1", target="label")
        with pytest.raises(PermissionDenied, match="trained"):
            author.models.approve(req.id)
        assert team.gov.models.approve(req.id).state is RequestState.APPLIED

    def test_failed_evidence_blocks_unless_overridden_with_a_reason(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        team, run_id = _team(contract, tmp_path)
        p = team.project
        _register(team, tmp_path, "noise", run_id, noise=True)
        team.gov.models.apply_policy(p, POLICY)
        stakeholder = contract.as_role(p, "stakeholder")
        floor = stakeholder.models.set_requirement(p, "churn", "auc", min=0.9)
        assert (floor.metric, floor.min, floor.set_by) == ("auc", 0.9, stakeholder.user)
        with pytest.raises(PermissionDenied):
            team.ds.models.set_requirement(p, "churn", "auc", min=0.1)
        with pytest.raises(InvalidInput):
            stakeholder.models.set_requirement(p, "churn", "auc", min=0.9, max=0.1)
        assert [r.metric for r in team.gov.models.requirements(p, "churn")] == ["auc"]
        req = team.ds.models.promote(
            p, "churn@1", "production", dataset="holdout@1", target="label"
        )
        failed = [e.name for e in req.failed_evidence]
        assert failed == [Evidence.REQUIREMENTS], req.evidence
        with pytest.raises(Unprocessable, match="override-reason"):
            team.gov.models.approve(req.id)
        with pytest.raises(InvalidInput, match="reason"):
            team.gov.models.approve(req.id, override_reason="  ")
        with pytest.raises(NotFound):
            team.gov.models.get(p, "churn@production")  # nothing moved
        done = team.gov.models.approve(req.id, override_reason="pilot on 1% of traffic")
        assert done.state is RequestState.APPLIED
        assert done.override_reason == "pilot on 1% of traffic"

    def test_reject_withdraw_and_policy(self, contract: ContractEnv, tmp_path: Path) -> None:
        team, run_id = _team(contract, tmp_path)
        p = team.project
        _register(team, tmp_path, "a", run_id)
        default = team.ds.models.policy(p)
        assert default.version == 0 and set(default.protected) == {"production", "champion"}
        with pytest.raises(InvalidInput, match="aprovals"):
            team.gov.models.apply_policy(p, "protected:\n  production:\n    aprovals: 2\n")
        with pytest.raises(PermissionDenied):
            team.ds.models.apply_policy(p, POLICY)
        applied = team.gov.models.apply_policy(p, POLICY)
        assert applied.version == 1 and team.ds.models.policy(p).version == 1
        first = team.ds.models.promote(p, "churn@1", "production")
        with pytest.raises(InvalidInput, match="reason"):
            team.gov.models.reject(first.id, " ")
        rejected = team.gov.models.reject(first.id, "no evaluation attached")
        assert rejected.state is RequestState.REJECTED
        second = team.ds.models.promote(p, "churn@1", "production")
        with pytest.raises(PermissionDenied, match="requester"):
            contract.as_role(p, "data_scientist").models.withdraw(second.id)
        assert team.ds.models.withdraw(second.id, "wrong alias").state is RequestState.WITHDRAWN
        with pytest.raises(Conflict, match="not protected"):
            team.ds.models.promote(p, "churn@1", "staging")
        with pytest.raises(NotFound):
            team.gov.models.get_request("0123456789ab")

    def test_cards_and_evaluation(self, contract: ContractEnv, tmp_path: Path) -> None:
        team, run_id = _team(contract, tmp_path)
        p = team.project
        _register(team, tmp_path, "a", run_id)
        assert team.gov.models.card(p, "churn").revision == 0
        card = team.ds.models.set_card(p, "churn", {"intended_use": "rank churn risk"})
        card = team.gov.models.set_card(p, "churn", {"risk_rating": "medium"})
        assert card.revision == 2 and card.fields == {
            "intended_use": "rank churn risk",
            "risk_rating": "medium",
        }
        with pytest.raises(InvalidInput, match="unknown card fields"):
            team.ds.models.set_card(p, "churn", {"colour": "blue"})
        ev = team.ds.models.evaluate(p, "churn@1", "holdout@1", "label", ["region"])
        assert ev["rows"] == 300 and 0.5 < ev["metrics"]["auc"] <= 1.0
        assert {s["value"] for s in ev["slices"]} == {"north", "south"}
        with pytest.raises(InvalidInput, match="no column"):
            team.ds.models.evaluate(p, "churn@1", "holdout@1", "nope")

    def test_compliance_report(self, contract: ContractEnv, tmp_path: Path) -> None:
        from relayml.domain.tracking import MetricPoint

        team, run_id = _team(contract, tmp_path)
        p = team.project
        team.ds.tracking.log_batch(
            run_id, params={"C": 1.0}, metrics=[MetricPoint("train_auc", 0.91, 0, 0)]
        )
        _register(team, tmp_path, "a", run_id)
        team.gov.models.apply_policy(
            p,
            POLICY + "evaluation:\n  dataset: holdout@1\n  target: label\n  slices: [region]\n",
        )
        team.ds.models.set_card(p, "churn", {"intended_use": "rank churn risk"})
        req = team.ds.models.promote(p, "churn@1", "production", note="first one")
        team.gov.models.approve(req.id, "evidence checked")
        stakeholder = contract.as_role(p, "stakeholder")
        with pytest.raises(PermissionDenied, match=r"compliance\.report"):
            stakeholder.models.report(p, "churn@1")
        with pytest.raises(PermissionDenied):
            team.ds.models.report(p, "churn@1")
        doc = team.gov.models.report(p, "churn@production")
        assert doc["model"]["ref"] == "churn@1" and doc["model"]["aliases"] == ["production"]
        assert doc["run"]["id"] == run_id and doc["run"]["params"] == {"C": "1.0"}
        assert doc["run"]["metrics"] == {"train_auc": 0.91}
        (data,) = doc["datasets"]
        assert (data["ref"], data["status"], data["rows"]) == ("holdout@1", "valid", 300)
        promo = doc["promotion"]
        assert (promo["id"], promo["state"], promo["decided_by"]) == (
            req.id,
            "applied",
            team.gov.user,
        )
        assert [(r["user"], r["kind"]) for r in promo["reviews"]] == [(team.gov.user, "approve")]
        (evaluation,) = [e for e in promo["evidence"] if e["name"] == "evaluation"]
        slices = evaluation["details"]["candidate"]["slices"]
        assert {s["value"] for s in slices} == {"north", "south"}
        assert doc["card"]["fields"] == {"intended_use": "rank churn risk"}
        assert [(m["alias"], m["to_version"], m["request_id"]) for m in doc["alias_history"]] == [
            ("production", 1, req.id)
        ]
        audit = doc["audit"]
        assert audit["verified"] and audit["checked"] > 0
        actions = [(e["action"], e["outcome"]) for e in audit["events"]]
        assert {("model.register", "ok"), ("promotion.approve", "ok")} <= set(actions)
        assert ("compliance.report", "denied") in actions  # the stakeholder's attempt
        assert ("compliance.report", "ok") not in actions  # read before it is recorded
        with pytest.raises(NotFound):
            team.gov.models.report(p, "churn@7")
        events = contract.admin.audit.log(project=p, action="compliance.report")
        assert [(e.actor, e.entity_id, e.outcome) for e in events][:1] == [
            (team.gov.user, "churn@1", "ok")
        ]
        assert any(e.actor == stakeholder.user and e.outcome == "denied" for e in events)
        again = team.gov.models.report(p, "churn@1")
        assert ("compliance.report", "ok") in [
            (e["action"], e["outcome"]) for e in again["audit"]["events"]
        ]
