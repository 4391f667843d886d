"""The audit key: created private on first use, refused when others can read it, rotated
without invalidating what the old key signed; `relay audit checkpoint` exports a checkpoint."""

from __future__ import annotations

import json
import stat

from tests.cli.conftest import Relay, one_error_line


def test_key_file_is_private_and_checkpoints_are_exported(relay: Relay) -> None:
    assert relay("projects", "create", "p1").code == 0
    key_file = relay.home / "audit.keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    cp = relay("audit", "checkpoint", "--json")
    assert cp.code == 0, cp.err
    lines = (relay.home / "audit-checkpoints.jsonl").read_text().splitlines()
    assert json.loads(lines[-1]) == cp.json()
    ok = relay("audit", "verify")
    assert ok.code == 0 and f"{len(lines)} checkpoints" in ok.out, ok.out

    key_file.chmod(0o644)
    refused = relay("audit", "verify")
    assert refused.code == 2
    assert "chmod 600" in one_error_line(refused)


def test_rotated_key_signs_new_events_and_old_ones_still_verify(relay: Relay) -> None:
    assert relay("projects", "create", "p2").code == 0
    rotated = relay("audit", "rotate-key")
    assert rotated.code == 0, rotated.err
    assert relay("projects", "create", "p3").code == 0
    events = relay("audit", "log", "--limit", "1000", "--json").json()
    keys = [line.split()[0] for line in (relay.home / "audit.keys").read_text().splitlines()]
    assert len(keys) == 2
    ok = relay("audit", "verify")
    assert ok.code == 0, ok.err
    assert events  # MACs are not in the log's JSON; verify is what checks them


def test_a_lost_key_fails_verification(relay: Relay) -> None:
    assert relay("projects", "create", "p4").code == 0
    (relay.home / "audit.keys").unlink()  # a new key is made; the old events' is gone
    bad = relay("audit", "verify")
    assert bad.code == 9
    assert "not in the key file" in one_error_line(bad)
