"""The identity contract: tokens that end, deactivated users, and grants and events that stay in
their project. Every backend passes it (local+SQLite, local+PostgreSQL, http)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from relayml.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from relayml.testing.contract import ContractEnv


class IdentityContract:
    def test_a_revoked_token_is_refused(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        name = f"u-{uuid.uuid4().hex[:10]}"
        issued = contract.admin.identity.create_user(name, ["data_scientist"], p, expires="30d")
        lifetime = (issued.expires_at or datetime.max.replace(tzinfo=UTC)) - datetime.now(UTC)
        assert timedelta(days=29) < lifetime <= timedelta(days=30)
        me = contract.connect(issued.token)
        contract.opened.append(me)
        (listed,) = me.identity.list_tokens()
        assert listed.id == issued.token_id and listed.state(datetime.now(UTC)) == "active"
        second = me.identity.issue_token(name, expires="1d")
        assert [t.id for t in contract.admin.identity.list_tokens(name)] == [
            issued.token_id,
            second.token_id,
        ]
        revoked = me.identity.revoke_token(issued.token_id)
        assert revoked.state(datetime.now(UTC)) == "revoked"
        with pytest.raises(Unauthenticated, match="revoked"):
            contract.connect(issued.token)
        again = contract.connect(second.token)  # revocation is per token
        contract.opened.append(again)
        assert again.user == name
        with pytest.raises(NotFound):
            contract.admin.identity.revoke_token("0" * 12)
        with pytest.raises(InvalidInput, match="12 hex digits"):
            contract.admin.identity.revoke_token("x\u0000y")

    def test_only_admins_touch_other_users_tokens(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        ds = contract.as_role(p, "data_scientist")
        other = contract.admin.identity.create_user(
            f"u-{uuid.uuid4().hex[:10]}", ["data_scientist"], p
        )
        with pytest.raises(PermissionDenied):
            ds.identity.list_tokens(other.user)
        with pytest.raises(PermissionDenied):
            ds.identity.revoke_token(other.token_id)
        with pytest.raises(PermissionDenied):
            ds.identity.set_user_active(contract.admin.user, False)
        assert {t.user for t in ds.identity.list_tokens()} == {ds.user}

    def test_expiry_is_bounded_and_checked(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        ds = contract.as_role(p, "data_scientist")
        with pytest.raises(InvalidInput, match="maximum of 365d"):
            ds.identity.issue_token(ds.user, expires="366d")
        with pytest.raises(InvalidInput, match="90d"):
            ds.identity.issue_token(ds.user, expires="someday")
        default = ds.identity.issue_token(ds.user)
        assert default.expires_at is not None
        assert default.expires_at - datetime.now(UTC) > timedelta(days=89)

    def test_a_deactivated_user_cannot_authenticate(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        name = f"u-{uuid.uuid4().hex[:10]}"
        issued = contract.admin.identity.create_user(name, ["stakeholder"], p)
        assert contract.admin.identity.set_user_active(name, False).active is False
        with pytest.raises(Unauthenticated, match="deactivated"):
            contract.connect(issued.token)
        with pytest.raises(Conflict, match="deactivated"):
            contract.admin.identity.issue_token(name)
        assert contract.admin.identity.set_user_active(name, True).active is True
        back = contract.connect(issued.token)
        contract.opened.append(back)
        assert back.user == name
        with pytest.raises(Conflict, match="last active platform admin"):
            contract.admin.identity.set_user_active(contract.admin.user, False)

    def test_a_user_without_roles_cannot_authenticate_nor_mint(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        ds = contract.as_role(p, "data_scientist")
        spare = ds.identity.issue_token(ds.user)
        contract.admin.identity.revoke(ds.user, "data_scientist", p)
        with pytest.raises(Unauthenticated, match="holds no role"):
            contract.connect(spare.token)
        with pytest.raises((Unauthenticated, PermissionDenied)):
            ds.identity.issue_token(ds.user)

    def test_listing_a_projects_users_hides_their_other_projects(
        self, contract: ContractEnv
    ) -> None:
        p, q = contract.new_project(), contract.new_project()
        gov = contract.as_role(p, "model_governance")
        both = contract.as_role(p, "data_scientist")
        contract.admin.identity.grant(both.user, "ml_engineer", q)
        users = {u.name: u for u in gov.identity.list_users(p)}
        assert users[both.user].grants == {p: ["data_scientist"]}
        assert all(set(u.grants) <= {p, "*"} for u in users.values())

    def test_token_events_are_audited_in_the_users_projects(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        gov = contract.as_role(p, "model_governance")
        ds = contract.as_role(p, "data_scientist")
        fresh = ds.identity.issue_token(ds.user)
        ds.identity.revoke_token(fresh.token_id)
        events = gov.audit.log(project=p, entity_kind="user", entity_id=ds.user)
        assert [e.action for e in events] == [
            "token.revoke",
            "token.issue",
            "token.issue",
            "user.manage",
        ]
        assert {e.project for e in events} == {p}

    def test_denials_never_ask_for_more_than_needed(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        gov = contract.as_role(p, "model_governance")
        for call in (gov.identity.list_users, gov.audit.log):
            with pytest.raises(PermissionDenied) as denied:
                call()
            message = str(denied.value)
            assert "'*'" not in message and "--project *" not in message, message
            assert f"--project {p}" in message, message
        with pytest.raises(NotFound, match="no project 'nowhere-at-all'"):
            gov.audit.log(project="nowhere-at-all")
        with pytest.raises(NotFound, match="no project 'nowhere-at-all'"):
            gov.identity.list_users("nowhere-at-all")
        with pytest.raises(NotFound, match="no project 'nowhere-at-all'"):
            gov.identity.ensure_project("nowhere-at-all")

    def test_projects(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        assert b.identity.ensure_project(p).name == p  # existing: returned as is
        with pytest.raises(Conflict):
            b.identity.create_project(p)
        q = f"{p}-new"
        assert b.identity.ensure_project(q).created_by == b.user  # an admin's first use creates it
        assert {p, q} <= {pr.name for pr in b.identity.list_projects()}
        ds = contract.as_role(p, "data_scientist")
        assert ds.identity.ensure_project(p).name == p
        # a missing project is "no project", as for every project call (require_in_project),
        # not a permission problem; one that exists but is not theirs is refused
        with pytest.raises(NotFound, match="no project"):
            ds.identity.ensure_project(f"{p}-other")
        with pytest.raises(PermissionDenied):
            ds.identity.ensure_project(q)
        with pytest.raises(InvalidInput):
            b.identity.create_project("bad name!")

    def test_only_admins_manage_users(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        ds = contract.as_role(p, "data_scientist", "model_governance")
        with pytest.raises(PermissionDenied):
            ds.identity.create_user("mallory", ["admin"], p)
        with pytest.raises(PermissionDenied):
            ds.identity.grant(ds.user, "admin", p)
        names = {u.name for u in contract.admin.identity.list_users(p)}
        assert ds.user in names and "mallory" not in names
        with pytest.raises(Conflict):
            contract.admin.identity.create_user(ds.user, ["stakeholder"], p)

    def test_tokens(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        ds = contract.as_role(p, "data_scientist")
        me = ds.identity.whoami()
        assert me["user"] == ds.user and me["grants"] == {p: ["data_scientist"]}
        fresh = ds.identity.issue_token(ds.user)
        again = contract.connect(fresh.token)
        contract.opened.append(again)
        assert again.user == ds.user
        with pytest.raises(PermissionDenied):
            ds.identity.issue_token(contract.admin.user)
        with pytest.raises(Unauthenticated):
            contract.connect("rly_" + "x" * 43)
        assert p in {pr.name for pr in ds.identity.list_projects()}
