"""Ways of tampering with the audit trail, each caught by `audit verify`: the 22 of issue 9,
and edits of an aggregated denial's count.

The attacker holds the database (any SQL) and can write the checkpoint file, but not the MAC
key, which these stores take from RELAY_AUDIT_KEY (so it is in no file the attacker reaches).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, text, update

from relayml.client.local import LocalBackend
from relayml.domain.audit import event_hash
from relayml.domain.identity import Principal
from relayml.errors import PermissionDenied
from relayml.sdk.session import connect
from relayml.store.sql import schema as s
from tests.conftest import settings_for

KEY = "k" * 40
EVERY = 4  # a checkpoint every 4 events, so the chain has several
ev = s.audit_events.c
hd = s.audit_head.c


@dataclass
class Store:
    backend: LocalBackend
    engine: Engine
    checkpoints: Path
    last: int


def _open(home: Path, url: str) -> LocalBackend:
    settings = replace(settings_for(home, url), audit_key=KEY, audit_checkpoint_every=EVERY)
    backend = connect(settings=settings, project="audited").backend
    assert isinstance(backend, LocalBackend)
    return backend


@pytest.fixture
def store(store_url: str, tmp_path: Path) -> Iterator[Store]:
    backend = _open(tmp_path, store_url)
    for i in range(4):
        run = backend.tracking.create_run(project="audited", experiment="e", params={"i": i})
        backend.tracking.end_run(run.id)
    # Denied reads by a user without roles: one event at once, the 4 repeats as one with a count.
    services = backend.services
    for _ in range(5):
        with pytest.raises(PermissionDenied):
            services.tracking.get_run(Principal("eve"), run.id)
    services.flush_denials()
    engine = services.store.engine  # type: ignore[attr-defined]
    last = max(e.seq for e in backend.audit.log(limit=1000))
    assert [e.count for e in backend.audit.log(actor="eve")] == [4, 1]
    result = backend.audit.verify()
    assert result.ok and result.checked == last and result.checkpoints >= 3, result
    yield Store(backend, engine, tmp_path / "audit-checkpoints.jsonl", last)
    backend.close()


def _attacker_mac(kind: str, text_: str) -> str:
    """A MAC under a key of the attacker's choosing (they do not have Relay's)."""
    msg = f"relay-audit/{kind}\n{text_}".encode()
    return hmac.new(b"attacker", msg, hashlib.sha256).hexdigest()


def _rows(st: Store) -> list[dict[str, object]]:
    with st.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(s.audit_events).order_by(ev.seq))]


def _hash(row: dict[str, object]) -> str:
    fields = {k: row[k] for k in ("seq", "ts", "actor", "roles", "action", "entity_kind")}
    fields |= {k: row[k] for k in ("entity_id", "project", "outcome", "payload_digest", "count")}
    ts = row["ts"]
    assert isinstance(ts, datetime)
    fields["ts"] = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return event_hash(**fields, prev_hash=str(row["prev_hash"]))  # type: ignore[arg-type]


def _run(st: Store, *statements: object) -> None:
    with st.engine.begin() as conn:
        for stmt in statements:
            conn.execute(stmt)  # type: ignore[call-overload]


def _edit(column: str, value: object) -> Callable[[Store], None]:
    def tamper(st: Store) -> None:
        _run(st, update(s.audit_events).where(ev.seq == 3).values({column: value}))

    return tamper


def _delete(which: str) -> Callable[[Store], None]:
    def tamper(st: Store) -> None:
        seq = {"first": 1, "middle": st.last // 2, "last": st.last}[which]
        _run(st, delete(s.audit_events).where(ev.seq == seq))

    return tamper


def _delete_last_and_move_head(st: Store) -> None:
    prev = _rows(st)[-2]
    _run(
        st,
        delete(s.audit_events).where(ev.seq == st.last),
        update(s.audit_head).values(seq=prev["seq"], hash=prev["hash"]),
    )


def _delete_head(st: Store) -> None:
    _run(st, delete(s.audit_head))


def _delete_everything(st: Store) -> None:
    _run(st, delete(s.audit_events), delete(s.audit_head))


def _swap(st: Store) -> None:
    _run(
        st,
        update(s.audit_events).where(ev.seq == 5).values(seq=-1),
        update(s.audit_events).where(ev.seq == 6).values(seq=5),
        update(s.audit_events).where(ev.seq == -1).values(seq=6),
    )


def _append_forged(st: Store) -> None:
    last = _rows(st)[-1]
    forged = dict(last, seq=st.last + 1, actor="mallory", prev_hash=last["hash"])
    forged["hash"] = digest = _hash(forged)
    forged["mac"] = _attacker_mac("event", digest)
    head_mac = _attacker_mac("head", f"{st.last + 1}:{digest}")
    _run(
        st,
        s.audit_events.insert().values(forged),
        update(s.audit_head).values(seq=st.last + 1, hash=digest, mac=head_mac),
    )


def _aggregated(st: Store) -> dict[str, object]:
    """The event that stands for several denied attempts."""
    return next(r for r in _rows(st) if r["count"] != 1)


def _lower_aggregated_count(st: Store) -> None:
    _run(st, update(s.audit_events).where(ev.seq == _aggregated(st)["seq"]).values(count=1))


def _rehash_aggregated_count(st: Store) -> None:
    """Lower the count and recompute that event's hash (and MAC it under the attacker's key):
    the next event no longer links to it."""
    row = dict(_aggregated(st), count=1)
    row["hash"] = digest = _hash(row)
    row["mac"] = _attacker_mac("event", digest)
    _run(st, update(s.audit_events).where(ev.seq == row["seq"]).values(row))


def _recompute_chain(
    st: Store, seq: int = 2, column: str = "actor", value: object = "mallory"
) -> None:
    """Rewrite event 2's actor (or `column` of event `seq`) and recompute every hash after
    it, the head too, with MACs under the attacker's key."""
    rows = _rows(st)
    prev = rows[0]["hash"]
    stmts: list[object] = []
    for row in rows[1:]:
        row = dict(row, prev_hash=prev)
        if row["seq"] == seq:
            row[column] = value
        row["hash"] = prev = _hash(row)
        row["mac"] = _attacker_mac("event", str(prev))
        stmts.append(update(s.audit_events).where(ev.seq == row["seq"]).values(row))
    stmts.append(
        update(s.audit_head).values(hash=prev, mac=_attacker_mac("head", f"{st.last}:{prev}"))
    )
    _run(st, *stmts)


def _recompute_with_stolen_macs(st: Store) -> None:
    """Copy the head's MAC to the previous event: MACs are bound to what they sign."""
    rows = _rows(st)
    with st.engine.connect() as conn:
        head_mac = conn.execute(select(hd.mac)).scalar()
    _run(
        st,
        delete(s.audit_events).where(ev.seq == st.last),
        update(s.audit_head).values(seq=st.last - 1, hash=rows[-2]["hash"], mac=head_mac),
    )


def _unknown_key_id(st: Store) -> None:
    _run(st, update(s.audit_events).where(ev.seq == 2).values(key_id="other"))


def _truncate_checkpoints(st: Store) -> None:
    lines = st.checkpoints.read_text().splitlines(keepends=True)
    st.checkpoints.write_text("".join(lines[:1]))


def _empty_checkpoints(st: Store) -> None:
    st.checkpoints.write_text("")


def _edit_checkpoint(st: Store) -> None:
    """Point the first checkpoint at the next event (as if the chain were one shorter)."""
    lines = st.checkpoints.read_text().splitlines()
    first = json.loads(lines[0])
    first["seq"] += 1
    first["hash"] = next(r["hash"] for r in _rows(st) if r["seq"] == first["seq"])
    st.checkpoints.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")


def _forge_checkpoint(st: Store) -> None:
    rows = _rows(st)
    line = (
        f'{{"hash": "{rows[1]["hash"]}", "key_id": "x", "mac": "{_attacker_mac("x", "y")}", '
        f'"seq": 2, "ts": "2026-01-01T00:00:00+00:00"}}\n'
    )
    with open(st.checkpoints, "a") as f:
        f.write(line)


TAMPERINGS: dict[str, Callable[[Store], None]] = {
    "edit ts": _edit("ts", datetime(2020, 1, 1, tzinfo=UTC)),
    "edit actor": _edit("actor", "mallory"),
    "edit roles": _edit("roles", ["admin", "model_governance"]),
    "edit action": _edit("action", "run.delete"),
    "edit entity kind": _edit("entity_kind", "dataset"),
    "edit entity id": _edit("entity_id", "x"),
    "edit project": _edit("project", "other"),
    "edit outcome": _edit("outcome", "denied"),
    "edit payload digest": _edit("payload_digest", "0" * 64),
    "edit prev hash": _edit("prev_hash", "1" * 64),
    "edit hash": _edit("hash", "2" * 64),
    "edit mac": _edit("mac", "3" * 64),
    "edit count": _edit("count", 300),
    "lower an aggregated count": _lower_aggregated_count,
    "lower an aggregated count and rehash it without the key": _rehash_aggregated_count,
    "lower an aggregated count and recompute the chain without the key": lambda st: (
        _recompute_chain(st, int(str(_aggregated(st)["seq"])), "count", 1)
    ),
    "delete first event": _delete("first"),
    "delete middle event": _delete("middle"),
    "delete last event": _delete("last"),
    "delete last event and move the head": _delete_last_and_move_head,
    "delete the head row": _delete_head,
    "delete every event and the head": _delete_everything,
    "reorder two events": _swap,
    "append a forged event and move the head": _append_forged,
    "recompute the whole chain without the key": _recompute_chain,
    "move the head with a MAC copied from the old head": _recompute_with_stolen_macs,
    "MAC under an unknown key id": _unknown_key_id,
    "truncate the checkpoint file": _truncate_checkpoints,
    "empty the checkpoint file": _empty_checkpoints,
    "edit a checkpoint": _edit_checkpoint,
    "append a forged checkpoint": _forge_checkpoint,
}


@pytest.mark.parametrize("tamper", TAMPERINGS.values(), ids=TAMPERINGS.keys())
def test_tampering_is_caught(store: Store, tamper: Callable[[Store], None]) -> None:
    tamper(store)
    result = store.backend.audit.verify()
    assert not result.ok, result
    assert result.reason


def test_intact_trail_verifies_after_reopening(store_url: str, tmp_path: Path) -> None:
    backend = _open(tmp_path, store_url)
    backend.tracking.create_run(project="audited", experiment="e")
    backend.close()
    again = _open(tmp_path, store_url)
    result = again.audit.verify()
    assert result.ok and result.checked == max(e.seq for e in again.audit.log(limit=100))
    again.close()


def test_the_edited_event_is_named(store: Store) -> None:
    _edit("actor", "mallory")(store)
    result = store.backend.audit.verify()
    assert result.first_bad_seq == 3 and "changed" in result.reason


def test_a_missing_head_row_stops_writes_with_a_clear_error(store: Store) -> None:
    from relayml.errors import IntegrityError

    _delete_head(store)
    with pytest.raises(IntegrityError, match="head row is missing"):
        store.backend.tracking.create_run(project="audited", experiment="e")
    assert "head row is missing" in store.backend.audit.verify().reason


def test_entities_without_events_never_verify(tmp_path: Path) -> None:
    backend = _open(tmp_path, f"sqlite:///{tmp_path / 'relay.db'}")
    engine = backend.services.store.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events"))
        conn.execute(text("DELETE FROM audit_head"))
    (tmp_path / "audit-checkpoints.jsonl").unlink()
    result = backend.audit.verify()
    assert not result.ok and "no events" in result.reason
    backend.close()
