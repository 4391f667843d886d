"""`relay roles apply|ls|show|history` through the CLI, embedded."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Relay, one_error_line

RISK = """\
roles:
  risk_officer:
    description: Approves promotions on risk grounds; reads no raw data
    actions: [project.read, role.read, model.read, request.read, promotion.approve]
  data_scientist:
    remove: [run.delete]
"""


def test_apply_ls_show_and_history(relay: Relay, tmp_path: Path) -> None:
    doc = tmp_path / "roles.yaml"
    doc.write_text(RISK)
    applied = relay("roles", "apply", str(doc))
    assert applied.code == 0, applied.err
    assert "version 1 to the installation" in applied.out
    assert relay("projects", "create", "churn").code == 0
    narrowed = tmp_path / "churn.yaml"
    narrowed.write_text("roles:\n  stakeholder:\n    add: [model.evaluate]\n")
    assert "to project churn" in relay("roles", "apply", str(narrowed), "-p", "churn").out

    rows = {r["name"]: r for r in relay("roles", "ls", "-p", "churn", "--json").json()}
    assert rows["risk_officer"]["source"] == "installation"
    assert "dataset.read" not in rows["risk_officer"]["actions"]
    assert rows["stakeholder"]["source"] == "built-in, changed by project"
    assert rows["stakeholder"]["added"] == ["model.evaluate"]
    assert rows["data_scientist"]["removed"] == ["run.delete"]
    table = relay("roles", "ls")
    assert "risk_officer" in table.out and "-run.delete" in table.out
    assert "stakeholder" in table.out and "+model.evaluate" not in table.out  # churn's only

    shown = relay("roles", "show", "data_scientist")
    assert shown.code == 0, shown.err
    assert "built-in, changed by installation" in shown.out
    assert "removed from its default: run.delete" in shown.out
    assert relay("roles", "show", "stakeholder", "-p", "churn", "--json").json()["added"] == [
        "model.evaluate"
    ]

    # a user holds the custom role; the history says who applied what
    made = relay("users", "create", "rita", "--role", "risk_officer", "-p", "churn")
    assert made.code == 0, made.err
    (first,) = relay("roles", "history", "--json").json()
    assert (first["version"], first["created_by"], first["text"]) == (1, "admin", RISK)
    events = relay("audit", "log", "--action", "role.manage", "--json").json()
    assert sorted((e["entity_kind"], e["entity_id"]) for e in events) == [
        ("roles", "*@1"),
        ("roles", "churn@1"),
    ]


def test_bad_documents_are_one_line_errors_and_change_nothing(relay: Relay, tmp_path: Path) -> None:
    def apply(text: str) -> str:
        doc = tmp_path / "bad.yaml"
        doc.write_text(text)
        result = relay("roles", "apply", str(doc))
        assert result.code != 0
        return one_error_line(result)

    err = apply("roles:\n  auditor:\n    actions: [audit.raed]\n")
    assert "unknown action 'audit.raed'" in err and "audit.read" in err
    assert "takes grant.manage from admin" in apply(
        "roles:\n  admin:\n    remove: [grant.manage]\n"
    )
    lol = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n"
        for p, n in zip("abcdef", "bcdefg", strict=True)
    )
    assert "refused" in apply(lol)
    missing = relay("roles", "apply", str(tmp_path / "nowhere.yaml"))
    assert missing.code == 2 and "cannot read" in one_error_line(missing)
    assert relay("roles", "history", "--json").json() == []
    unknown = relay("roles", "show", "ghost")
    assert unknown.code != 0 and "known roles" in one_error_line(unknown)
