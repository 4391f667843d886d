"""Projects, users, tokens, grants and whoami through the CLI."""

from __future__ import annotations

from relayml.store.sql.engine import SCHEMA_HEAD
from tests.cli.conftest import Relay, one_error_line


def test_users_create_prints_a_token_that_works(relay: Relay) -> None:
    created = relay("users", "create", "alice", "--role", "data_scientist", "--role", "ml_engineer")
    assert created.code == 0, created.err
    assert "will not be shown again" in created.out
    token = relay.token_from(created)

    me = relay("whoami", "--json", RELAY_TOKEN=token)
    assert me.code == 0, me.err
    data = me.json()
    assert data["user"] == "alice"
    assert data["grants"] == {"default": ["data_scientist", "ml_engineer"]}


def test_users_create_in_a_new_project_creates_it(relay: Relay) -> None:
    created = relay("users", "create", "sam", "--role", "stakeholder", "--project", "churn")
    assert created.code == 0, created.err
    names = [p["name"] for p in relay("projects", "ls", "--json").json()]
    assert "churn" in names


def test_stakeholder_token_cannot_manage_users(relay: Relay) -> None:
    token = relay.token_from(relay("users", "create", "sam", "--role", "stakeholder"))
    denied = relay("users", "create", "mallory", "--role", "admin", RELAY_TOKEN=token)
    assert denied.code == 4
    err = one_error_line(denied)
    assert "sam holds stakeholder" in err
    assert "user.manage" in err
    # the refusal is on the record
    log = relay("audit", "log", "--actor", "sam", "--json").json()
    assert [(e["action"], e["outcome"]) for e in log] == [("user.manage", "denied")]


def test_grant_revoke_and_ls(relay: Relay) -> None:
    relay("users", "create", "alice", "--role", "data_scientist")
    assert relay("users", "grant", "alice", "--role", "ml_engineer").code == 0
    users = {u["name"]: u for u in relay("users", "ls", "--json").json()}
    assert sorted(users["alice"]["grants"]["default"]) == ["data_scientist", "ml_engineer"]

    assert relay("users", "revoke", "alice", "--role", "data_scientist").code == 0
    users = {u["name"]: u for u in relay("users", "ls", "--project", "default", "--json").json()}
    assert users["alice"]["grants"]["default"] == ["ml_engineer"]

    missing = relay("users", "revoke", "alice", "--role", "data_scientist")
    assert missing.code == 5
    one_error_line(missing)

    table = relay("users", "ls")
    assert "alice" in table.out and "ml_engineer" in table.out


def test_unknown_role_names_the_choices(relay: Relay) -> None:
    result = relay("users", "create", "alice", "--role", "wizard")
    assert result.code == 2
    err = one_error_line(result)
    assert "'wizard'" in err and "data_scientist" in err


def test_users_token_issues_a_new_working_token(relay: Relay) -> None:
    first = relay.token_from(relay("users", "create", "alice", "--role", "data_scientist"))
    second = relay.token_from(relay("users", "token", "alice"))
    assert first != second
    assert relay("whoami", "--json", RELAY_TOKEN=second).json()["user"] == "alice"


def test_whoami_embedded_is_the_local_admin(relay: Relay) -> None:
    me = relay("whoami", "--json").json()
    assert me == {"user": "admin", "grants": {"*": ["admin"]}, "backend": "local"}
    human = relay("whoami")
    assert "admin" in human.out and "every project" in human.out


def test_projects_ls_table_and_json(relay: Relay) -> None:
    relay("projects", "create", "churn", "--description", "who leaves")
    table = relay("projects", "ls")
    assert "churn" in table.out and "who leaves" in table.out
    names = {p["name"]: p for p in relay("projects", "ls", "--json").json()}
    assert names["churn"]["description"] == "who leaves"
    assert names["churn"]["created_by"] == "admin"


def test_db_upgrade_then_already_current(relay: Relay) -> None:
    first = relay("db", "upgrade")
    assert first.code == 0, first.err
    assert f"(empty) -> {SCHEMA_HEAD}" in first.out
    second = relay("db", "upgrade")
    assert f"already at schema {SCHEMA_HEAD}" in second.out


def test_db_upgrade_refuses_a_server(relay: Relay) -> None:
    result = relay("db", "upgrade", RELAY_SERVER_URL="http://127.0.0.1:9")
    assert result.code == 2
    assert "server" in one_error_line(result)
