"""Tokens that end and users that stop, through the CLI; the global -p/RELAY_PROJECT honoured
by `audit log` and `users ls`; denials that ask for no more than needed."""

from __future__ import annotations

from tests.cli.conftest import Relay, one_error_line


def test_tokens_issue_ls_and_revoke(relay: Relay) -> None:
    created = relay("users", "create", "alice", "--role", "data_scientist", "--expires", "30d")
    assert created.code == 0, created.err
    assert "valid until" in created.out
    first = relay.token_from(created)
    issued = relay("tokens", "issue", "alice", "--expires", "12h")
    assert issued.code == 0, issued.err
    second = relay.token_from(issued)
    listed = relay("tokens", "ls", "--user", "alice", "--json").json()
    assert [t["user"] for t in listed] == ["alice", "alice"]
    assert all("token" not in t and "hash" not in str(t) for t in listed)
    table = relay("tokens", "ls", RELAY_TOKEN=second)  # a user's own, without --user
    assert table.code == 0 and listed[0]["id"] in table.out and "active" in table.out

    revoked = relay("tokens", "revoke", listed[0]["id"])
    assert revoked.code == 0, revoked.err
    refused = relay("whoami", RELAY_TOKEN=first)
    assert refused.code == 3 and "revoked" in one_error_line(refused)
    assert relay("whoami", "--json", RELAY_TOKEN=second).json()["user"] == "alice"
    assert "revoked" in relay("tokens", "ls", "--user", "alice").out

    too_long = relay("tokens", "issue", "alice", "--expires", "2y")
    assert too_long.code == 2 and "90d" in one_error_line(too_long)


def test_users_deactivate_and_activate(relay: Relay) -> None:
    token = relay.token_from(relay("users", "create", "bob", "--role", "stakeholder"))
    assert relay("users", "deactivate", "bob").code == 0
    refused = relay("whoami", RELAY_TOKEN=token)
    assert refused.code == 3 and "deactivated" in one_error_line(refused)
    users = {u["name"]: u for u in relay("users", "ls", "--json").json()}
    assert users["bob"]["active"] is False
    assert relay("users", "activate", "bob").code == 0
    assert relay("whoami", "--json", RELAY_TOKEN=token).json()["user"] == "bob"
    events = relay("audit", "log", "--entity", "user:bob", "--json").json()
    assert [e["action"] for e in events][-2:] == ["user.deactivate", "user.activate"]


def test_global_project_reaches_audit_log_and_users_ls(relay: Relay) -> None:
    gov = relay.token_from(
        relay("users", "create", "gina", "--role", "model_governance", "-p", "churn")
    )
    relay("users", "create", "dan", "--role", "data_scientist", "-p", "churn")
    assert relay("projects", "create", "fraud").code == 0
    assert relay("users", "grant", "dan", "--role", "ml_engineer", "-p", "fraud").code == 0

    by_flag = relay("-p", "churn", "audit", "log", "--json", RELAY_TOKEN=gov)
    assert by_flag.code == 0, by_flag.err
    assert {e["project"] for e in by_flag.json()} == {"churn"}
    by_env = relay("audit", "log", "--json", RELAY_TOKEN=gov, RELAY_PROJECT="churn")
    assert by_env.code == 0 and by_env.json() == by_flag.json()

    users = relay("-p", "churn", "users", "ls", "--json", RELAY_TOKEN=gov)
    assert users.code == 0, users.err
    dan = {u["name"]: u for u in users.json()}["dan"]
    assert dan["grants"] == {"churn": ["data_scientist"]}  # not his role in fraud


def test_denials_name_the_project_not_a_global_grant(relay: Relay) -> None:
    gov = relay.token_from(
        relay("users", "create", "gina", "--role", "model_governance", "-p", "churn")
    )
    for command in (("audit", "log"), ("users", "ls")):
        denied = relay(*command, RELAY_TOKEN=gov)
        assert denied.code == 4
        err = one_error_line(denied)
        assert "--project churn" in err and "'*'" not in err, err
    missing = relay("-p", "no-such", "audit", "log", RELAY_TOKEN=gov)
    assert missing.code == 5 and "no project 'no-such'" in one_error_line(missing)
