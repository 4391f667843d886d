"""The backend contract for roles as policy: a custom role that approves promotions but reads no
data, built-in roles narrowed and widened, a project's document over the installation's,
versions and their audit, and documents refused whole with nothing changed — the same on every
backend (local+SQLite, local+PostgreSQL, http)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from relayml.client.base import Backend
from relayml.domain.audit import EntityKind, payload_digest
from relayml.domain.models import RequestState
from relayml.domain.roles import Action
from relayml.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from relayml.testing.contract import ContractEnv
from relayml.testing.contract_models import _register, _team

RISK = """\
roles:
  risk_officer:
    description: Approves promotions on risk grounds; reads no raw data
    actions: [project.read, role.read, model.read, request.read, request.update,
              promotion.approve, compliance.report, audit.read]
"""
RISK_POLICY = """\
protected:
  production:
    approvals: 1
    approvers: [risk_officer]
    evidence: [load_check]
"""


def _user(contract: ContractEnv, project: str, *roles: str) -> Backend:
    return contract.as_role(project, *roles)


@contextmanager
def _installation(contract: ContractEnv, text: str) -> Iterator[None]:
    """`text` as the installation's roles document while the block runs (the contract's
    backends share one database, so every other test sees the built-in roles again)."""
    contract.admin.roles.apply(text)
    try:
        yield
    finally:
        contract.admin.roles.apply("")


class RoleContract:
    def test_a_custom_role_approves_a_promotion_but_reads_no_data(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        team, run_id = _team(contract, tmp_path)
        p = team.project
        applied = contract.admin.roles.apply(RISK, p)
        assert (applied.scope, applied.version) == (p, 1)
        risk = _user(contract, p, "risk_officer")
        role = risk.roles.get("risk_officer", p)
        assert (role.defined_in, role.builtin) == ("project", False)
        assert Action.PROMOTION_APPROVE in role.actions and Action.DATASET_READ not in role.actions
        with pytest.raises(PermissionDenied, match="dataset\\.read"):
            risk.datasets.list_datasets(p)
        with pytest.raises(PermissionDenied, match="dataset\\.read"):
            risk.datasets.get(p, "holdout@1")
        team.gov.models.apply_policy(p, RISK_POLICY)
        _register(team, tmp_path, "a", run_id)
        req = team.ds.models.promote(p, "churn@1", "production", note="for risk review")
        with pytest.raises(PermissionDenied, match="risk_officer"):
            team.gov.models.approve(req.id)  # the policy names risk_officer alone
        assert [i.id for i in risk.models.inbox(p)] == [req.id]
        both = _user(contract, p, "data_scientist", "risk_officer")
        own = both.models.promote(p, "churn@1", "production", note="mine")
        with pytest.raises(PermissionDenied, match="separation of duties"):
            both.models.approve(own.id)  # separation of duties holds for custom roles too
        both.models.withdraw(own.id)
        done = risk.models.approve(req.id, "risk accepted")
        assert done.state is RequestState.APPLIED
        assert done.reviews[-1].roles == ("risk_officer",)
        assert team.gov.models.get(p, "churn@production").version == 1
        report = risk.models.report(p, "churn@1")  # compliance.report: theirs by the document
        assert report["audit"]["verified"]

    def test_project_document_overrides_the_installations(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        p, q = contract.new_project(), contract.new_project()
        widen = "roles:\n  stakeholder:\n    add: [run.create]\n" + RISK.removeprefix("roles:\n")
        with _installation(contract, widen):
            in_p, in_q = _user(contract, p, "stakeholder"), _user(contract, q, "stakeholder")
            in_p.tracking.create_run(project=p, experiment="widened")  # the installation's
            contract.admin.roles.apply(
                "roles:\n  stakeholder:\n    remove: [run.create, feedback.submit]\n"
                "  risk_officer:\n    actions: [project.read, audit.read]\n",
                q,
            )
            with pytest.raises(PermissionDenied, match="run\\.create"):
                in_q.tracking.create_run(project=q, experiment="narrowed")
            in_p.tracking.create_run(project=p, experiment="still-widened")
            s_p, s_q = in_p.roles.get("stakeholder", p), in_q.roles.get("stakeholder", q)
            assert s_p.source == "built-in, changed by installation"
            assert s_p.added == {Action.RUN_CREATE} and not s_p.removed
            assert s_q.source == "built-in, changed by installation and project"
            assert s_q.removed == {Action.FEEDBACK_SUBMIT} and not s_q.added
            r_p, r_q = in_p.roles.get("risk_officer", p), in_q.roles.get("risk_officer", q)
            assert r_p.defined_in == "installation" and Action.PROMOTION_APPROVE in r_p.actions
            assert r_q.defined_in == "project" and r_q.actions == {
                Action.PROJECT_READ,
                Action.AUDIT_READ,
            }
            names = [r.name for r in contract.admin.roles.list_roles()]
            assert names[:8] == [
                "data_engineer",
                "data_scientist",
                "ml_engineer",
                "mlops_engineer",
                "devops_engineer",
                "model_governance",
                "stakeholder",
                "admin",
            ]
            assert "risk_officer" in names
            # an installation role may be granted platform-wide; a project's only there
            contract.admin.identity.create_user(f"u-{uuid.uuid4().hex[:8]}", ["risk_officer"], "*")
            with pytest.raises(PermissionDenied):  # platform-wide reads are not per project
                in_p.roles.list_roles()
            gone = "roles:\n  stakeholder:\n    add: [run.create]\n"
            with pytest.raises(Conflict, match="still granted"):
                contract.admin.roles.apply(gone)  # risk_officer is held platform-wide
            for u in contract.admin.identity.list_users():
                if "risk_officer" in u.grants.get("*", []):
                    contract.admin.identity.revoke(u.name, "risk_officer", "*")
        assert contract.admin.roles.get("stakeholder").source == "built-in"
        with pytest.raises(NotFound, match="no role 'risk_officer'"):
            contract.admin.roles.get("risk_officer", p)
        # q's own definition stays: its document is its own
        assert contract.admin.roles.get("risk_officer", q).defined_in == "project"

    def test_versions_are_kept_and_audited_with_their_digest(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        first = contract.admin.roles.apply(RISK, p)
        second_text = RISK + "  auditor:\n    actions: [audit.read, project.read]\n"
        second = contract.admin.roles.apply(second_text, p)
        assert (first.version, second.version) == (1, 2)
        assert second.digest == hashlib.sha256(second_text.encode()).hexdigest()
        history = contract.admin.roles.history(p)
        assert [(d.version, d.text, d.digest) for d in history] == [
            (2, second_text, second.digest),
            (1, RISK, first.digest),
        ]
        assert contract.admin.roles.history(p, limit=1)[0].version == 2
        events = contract.admin.audit.log(project=p, entity_kind=EntityKind.ROLES)
        assert [(e.action, e.entity_id, e.outcome) for e in events[:2]] == [
            ("role.manage", f"{p}@2", "ok"),
            ("role.manage", f"{p}@1", "ok"),
        ]
        assert events[0].payload_digest == payload_digest(second.to_payload())
        gov = _user(contract, p, "model_governance")
        assert {r.name for r in gov.roles.list_roles(p)} >= {"risk_officer", "auditor"}
        with pytest.raises(PermissionDenied, match="role\\.manage"):
            gov.roles.apply(RISK, p)
        denied = contract.admin.audit.log(project=p, action="role.manage")
        assert denied[0].outcome == "denied" and denied[0].actor == gov.user
        with pytest.raises(InvalidInput, match="limit"):
            gov.roles.history(p, limit=0)

    def test_bad_documents_are_refused_whole_and_change_nothing(
        self, contract: ContractEnv
    ) -> None:
        p = contract.new_project()
        contract.admin.roles.apply(RISK, p)
        before = [(r.name, r.actions) for r in contract.admin.roles.list_roles(p)]
        bomb = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n' + "".join(
            f"{c}: &{c} [*{p_}, *{p_}, *{p_}, *{p_}, *{p_}, *{p_}, *{p_}, *{p_}, *{p_}, *{p_}]\n"
            for p_, c in zip("abcdefg", "bcdefgh", strict=True)
        )
        refused = [
            ("roles:\n  risk_officer:\n    actions: [dataset.raed]\n", InvalidInput, "valid"),
            (bomb, InvalidInput, "refused"),
            ("roles:\n  admin:\n    remove: [grant.manage]\n", InvalidInput, "always keeps"),
            ("roles:\n  admin:\n    actions: [model.read]\n", InvalidInput, "built-in"),
            ("roles:\n  Risk Officer:\n    actions: [model.read]\n", InvalidInput, "role name"),
            ("roles:\n  ghost:\n    add: [model.read]\n", InvalidInput, "define it"),
            ("rolez: {}\n", InvalidInput, "unknown keys"),
        ]
        for text, error, says in refused:
            with pytest.raises(error, match=says):
                contract.admin.roles.apply(text, p)
        with pytest.raises(InvalidInput, match="dataset\\.raed") as info:
            contract.admin.roles.apply(refused[0][0], p)
        assert "promotion.approve" in str(info.value)  # every valid action is listed
        # a custom role still granted is not removed: who holds it is said
        holder = contract.admin.identity.create_user(
            f"u-{uuid.uuid4().hex[:8]}", ["risk_officer"], p
        )
        with pytest.raises(Conflict, match=f"risk_officer by {holder.user}"):
            contract.admin.roles.apply("", p)
        # nor is an approver a policy names left unable to approve
        contract.admin.models.apply_policy(p, RISK_POLICY)
        narrowed = RISK.replace("promotion.approve, ", "")
        with pytest.raises(Conflict, match="policy"):
            contract.admin.roles.apply(narrowed, p)
        assert [(r.name, r.actions) for r in contract.admin.roles.list_roles(p)] == before
        assert [d.version for d in contract.admin.roles.history(p)] == [1]
        # grants and policies name known roles only, and say which there are
        with pytest.raises(InvalidInput, match=r"known roles: .*risk_officer"):
            contract.admin.identity.grant(holder.user, "risk_oficer", p)
        with pytest.raises(InvalidInput, match="unknown role 'risk_officer'"):
            contract.admin.identity.grant(holder.user, "risk_officer", "*")  # p's alone
        with pytest.raises(InvalidInput, match="risk_oficer is not a role"):
            contract.admin.models.apply_policy(
                p, RISK_POLICY.replace("risk_officer", "risk_oficer")
            )
        with pytest.raises(InvalidInput, match="stakeholder may not approve"):
            contract.admin.models.apply_policy(
                p, RISK_POLICY.replace("risk_officer", "stakeholder")
            )
        with pytest.raises(InvalidInput, match="unknown role"):
            contract.admin.identity.create_user(f"u-{uuid.uuid4().hex[:8]}", ["ghost"], p)
        with pytest.raises(NotFound, match="known roles"):
            contract.admin.roles.get("ghost", p)
