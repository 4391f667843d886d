"""`relay audit log|verify`, and verify catching rows edited or deleted in the database."""

from __future__ import annotations

import sqlite3

from tests.cli.conftest import Seeded, one_error_line


def _sql(seeded: Seeded, statement: str) -> None:
    with sqlite3.connect(seeded.relay.home / "relay.db") as conn:
        conn.execute(statement)


def test_audit_log_filters(seeded: Seeded) -> None:
    relay = seeded.relay
    events = relay("audit", "log", "--entity", f"run:{seeded.run_a}", "--json").json()
    assert events, "creating and logging a run is audited"
    assert {e["entity_id"] for e in events} == {seeded.run_a}
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)
    assert "run.create" in {e["action"] for e in events}

    limited = relay("audit", "log", "--limit", "2", "--json").json()
    assert len(limited) == 2

    creates = relay("audit", "log", "--action", "run.create", "--project", "default", "--json")
    assert {e["entity_id"] for e in creates.json()} == {seeded.run_a, seeded.run_b}

    table = relay("audit", "log", "--actor", "admin")
    assert "run.create" in table.out


def test_verify_passes_then_names_an_edited_event(seeded: Seeded) -> None:
    ok = seeded.relay("audit", "verify")
    assert ok.code == 0, ok.err
    assert "events checked" in ok.out

    _sql(seeded, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3")
    bad = seeded.relay("audit", "verify")
    assert bad.code == 9
    err = one_error_line(bad)
    assert "#3" in err and "changed" in err


def test_verify_names_a_deleted_event(seeded: Seeded) -> None:
    _sql(seeded, "DELETE FROM audit_events WHERE seq = 4")
    bad = seeded.relay("audit", "verify")
    assert bad.code == 9
    assert "#4" in one_error_line(bad)

    as_json = seeded.relay("audit", "verify", "--json")
    assert as_json.code == 9
    assert as_json.json()["first_bad_seq"] == 4

    # asked as the project's governance: the whole chain, the same answer, no event shown
    as_project = seeded.relay("audit", "verify", "--project", "default", "--json")
    assert as_project.code == 9 and as_project.json()["first_bad_seq"] == 4


def test_audit_log_refuses_an_unknown_action_or_kind_listing_the_valid_ones(seeded: Seeded) -> None:
    typo = seeded.relay("audit", "log", "--action", "run.created")
    assert typo.code == 2
    err = one_error_line(typo)
    assert "unknown audit action 'run.created'; use one of: " in err
    assert "run.create" in err and "run.end" in err and "pipeline.finish" in err

    kind = seeded.relay("audit", "log", "--entity", "runs:x")
    assert kind.code == 2
    assert "unknown entity kind 'runs'; use one of: project, user, run" in one_error_line(kind)


def test_every_recorded_action_and_kind_is_in_the_vocabulary(seeded: Seeded) -> None:
    from relayml.domain.audit import EntityKind, audit_actions

    events = seeded.relay("audit", "log", "--limit", "1000", "--json").json()
    assert {e["action"] for e in events} <= set(audit_actions())
    assert {e["entity_kind"] for e in events} <= {k.value for k in EntityKind}
    assert {"user.provision", "run.log", "run.end"} <= {e["action"] for e in events}
