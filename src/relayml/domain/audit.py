"""The audit trail: its closed vocabulary (actions, entity kinds), hash chain, MACs and
checkpoints; no I/O.

Each event carries the sha256 of its content and of the event before it (the chain), and an
HMAC-SHA256 of that hash under a key kept outside the database (the anchor). The head row
(last seq and hash) carries a MAC of its own, and checkpoints of (seq, hash), MACed too, are
exported outside the database. Rewriting history therefore needs the key; removing the tail
after the last checkpoint needs a copy of an earlier head row, and removing checkpointed
events needs write access to where the checkpoints are kept (see docs/governance.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from relayml.domain.enums import parse_enum
from relayml.domain.roles import Action
from relayml.errors import InvalidInput

GENESIS_HASH = "0" * 64
# The action of the event that records an exported checkpoint; its entity_id is the seq.
CHECKPOINT_ACTION = "audit.checkpoint"


class Event(StrEnum):
    """What the trail records besides the permission `Action`s themselves: each happens under
    one (a run's `run.log` under `run.update`), and says more precisely what was done."""

    USER_PROVISION = "user.provision"
    TOKEN_ISSUE = "token.issue"  # noqa: S105 (an action name, not a secret)
    TOKEN_REVOKE = "token.revoke"  # noqa: S105 (an action name, not a secret)
    USER_DEACTIVATE = "user.deactivate"
    USER_ACTIVATE = "user.activate"
    GRANT_ADD = "grant.add"
    GRANT_REMOVE = "grant.remove"
    RUN_LOG = "run.log"
    RUN_END = "run.end"
    DATASET_USE = "dataset.use"
    DATASET_QUARANTINE = "dataset.quarantine"
    DATASET_DEPRECATE = "dataset.deprecate"
    DATASET_UNDEPRECATE = "dataset.undeprecate"
    CHECK_UNTRUST = "check.untrust"
    PIPELINE_REGISTER = "pipeline.register"
    PIPELINE_STEP = "pipeline.step"
    PIPELINE_FINISH = "pipeline.finish"
    SCHEDULE_PAUSE = "schedule.pause"
    SCHEDULE_RESUME = "schedule.resume"
    WEBHOOK_ADD = "webhook.add"
    WEBHOOK_REMOVE = "webhook.remove"
    WEBHOOK_REDELIVER = "webhook.redeliver"
    ALIAS_MOVE = "alias.move"
    MODEL_TAG = "model.tag"
    MODEL_ARCHIVE = "model.archive"
    REQUEST_REJECT = "request.reject"
    REQUEST_WITHDRAW = "request.withdraw"
    REQUEST_COMMENT = "request.comment"
    DEPLOYMENT_SET_TARGET = "deployment.set_target"
    DEPLOYMENT_SET_TRAFFIC = "deployment.set_traffic"
    DEPLOYMENT_PROMOTE_CANARY = "deployment.promote_canary"
    DEPLOYMENT_ARCHIVE = "deployment.archive"
    FEEDBACK_REPLACE = "feedback.replace"
    SESSION_OPEN = "session.open"  # a sign-in to the web UI
    SESSION_CLOSE = "session.close"  # its sign-out, or its end after the idle limit
    LOOP_DETACH = "loop.detach"
    LOOP_STEP = "loop.step"  # one step of a loop run (its kind and text in the payload)
    MONITOR_CREATE = "monitor.create"
    MONITOR_PAUSE = "monitor.pause"
    MONITOR_RESUME = "monitor.resume"
    MONITOR_ARCHIVE = "monitor.archive"
    MONITOR_PROCESS = "monitor.process"  # windows closed or updated, alerts opened or resolved
    MONITOR_CHECK = "monitor.check"  # a model-shift check recorded
    MONITOR_ENDPOINT = "monitor.endpoint"  # the live server its runner checks, set or cleared
    ALERT_OPEN = "alert.open"
    ALERT_COMMENT = "alert.comment"
    ALERT_RESOLVE = "alert.resolve"


AuditAction = Action | Event
"""Every value an audit event's `action` takes: a permission checked (allowed or denied) or an
`Event`. The two enums share no value."""


class EntityKind(StrEnum):
    """What an audit event is about; its `entity_id` names which one."""

    PROJECT = "project"
    USER = "user"
    RUN = "run"
    DATASET = "dataset"
    PIPELINE = "pipeline"
    PIPELINE_RUN = "pipeline_run"
    AUDIT = "audit"
    SCHEDULE = "schedule"
    WEBHOOK = "webhook"
    STORAGE = "storage"
    MODEL = "model"
    REQUEST = "request"
    POLICY = "policy"
    DEPLOYMENT = "deployment"
    MONITOR = "monitor"
    ALERT = "alert"
    ROLES = "roles"  # a roles document; entity_id is SCOPE@VERSION ('*' for the installation)
    LOOP = "loop"
    LOOP_RUN = "loop_run"
    SERVICE = "service"  # the Relay server itself (its metrics)


def audit_actions() -> list[str]:
    return sorted([a.value for a in Action] + [e.value for e in Event])


def parse_audit_action(value: object) -> AuditAction:
    """An audited action from user text (``relay audit log --action``), listing the valid ones."""
    if isinstance(value, Action | Event):
        return value
    if isinstance(value, str):
        for enum in (Action, Event):
            try:
                return enum(value)
            except ValueError:
                pass
    raise InvalidInput(f"unknown audit action {value!r}; use one of: {', '.join(audit_actions())}")


def parse_entity_kind(value: object) -> EntityKind:
    return parse_enum(EntityKind, "entity kind", value)


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    ts: datetime
    actor: str
    roles: list[str]
    action: str
    entity_kind: str
    entity_id: str
    project: str
    outcome: str  # "ok" or "denied"
    payload_digest: str
    prev_hash: str
    hash: str
    key_id: str = ""
    mac: str = ""
    count: int = 1  # > 1: this many identical denied attempts, aggregated (services/denials.py)


@dataclass(frozen=True)
class AuditHead:
    seq: int
    hash: str
    key_id: str = ""
    mac: str = ""


@dataclass(frozen=True)
class Checkpoint:
    """(seq, hash) of the chain at one moment, MACed, as kept outside the database."""

    seq: int
    hash: str
    ts: str
    key_id: str
    mac: str
    line: int = 0  # where it was read from (1-based), for messages

    def to_json(self) -> str:
        body = {"seq": self.seq, "hash": self.hash, "ts": self.ts}
        return json.dumps({**body, "key_id": self.key_id, "mac": self.mac}, sort_keys=True)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    checkpoints: int = 0


@dataclass(frozen=True)
class AuditKeys:
    """The MAC keys by id; `current` signs, every key verifies (retired keys stay for that)."""

    current: str
    secrets: Mapping[str, bytes] = field(repr=False)

    def sign(self, kind: str, text: str) -> tuple[str, str]:
        return self.current, _mac(self.secrets[self.current], kind, text)

    def check(self, kind: str, text: str, key_id: str, mac: str) -> str:
        """'' when `mac` is right; otherwise why not."""
        if not mac:
            return (
                "carries no MAC (written before the trail was anchored, by a store without a "
                "key, or since tampered with)"
            )
        secret = self.secrets.get(key_id)
        if secret is None:
            return f"is MACed with key {key_id!r}, which is not in the key file"
        if not hmac.compare_digest(_mac(secret, kind, text), mac):
            return "has a MAC that does not verify: it was written or rewritten without the key"
        return ""


def _mac(secret: bytes, kind: str, text: str) -> str:
    # `kind` separates the domains, so one record's MAC is never valid for another kind.
    return hmac.new(secret, f"relay-audit/{kind}\n{text}".encode(), hashlib.sha256).hexdigest()


def head_text(seq: int, digest: str) -> str:
    return f"{seq}:{digest}"


def checkpoint_text(seq: int, digest: str, ts: str) -> str:
    return f"{seq}:{digest}:{ts}"


def _text(c: Checkpoint) -> str:
    return checkpoint_text(c.seq, c.hash, c.ts)


def make_checkpoint(keys: AuditKeys, seq: int, digest: str, ts: datetime) -> Checkpoint:
    stamp = ts.isoformat(timespec="microseconds")
    key_id, mac = keys.sign("checkpoint", checkpoint_text(seq, digest, stamp))
    return Checkpoint(seq=seq, hash=digest, ts=stamp, key_id=key_id, mac=mac)


def payload_digest(payload: Any) -> str:
    """sha256 of the canonical JSON of what the action carried."""
    data = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def event_hash(
    *,
    seq: int,
    ts: datetime,
    actor: str,
    roles: list[str],
    action: str,
    entity_kind: str,
    entity_id: str,
    project: str,
    outcome: str,
    payload_digest: str,
    prev_hash: str,
    count: int = 1,
) -> str:
    body = {
        "seq": seq,
        "ts": ts.isoformat(timespec="microseconds"),
        "actor": actor,
        "roles": sorted(roles),
        "action": action,
        "entity_kind": entity_kind,
        "entity_id": entity_id,
        "project": project,
        "outcome": outcome,
        "payload_digest": payload_digest,
        "prev_hash": prev_hash,
    }
    if count != 1:  # hashed only when it says something, so events before it verify unchanged
        body["count"] = count
    data = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def _recomputed(ev: AuditEvent) -> str:
    return event_hash(
        seq=ev.seq,
        ts=ev.ts,
        actor=ev.actor,
        roles=ev.roles,
        action=ev.action,
        entity_kind=ev.entity_kind,
        entity_id=ev.entity_id,
        project=ev.project,
        outcome=ev.outcome,
        payload_digest=ev.payload_digest,
        prev_hash=ev.prev_hash,
        count=ev.count,
    )


def verify_chain(
    events: Iterable[AuditEvent], head: tuple[int, str] | None, start_prev: str = GENESIS_HASH
) -> VerifyResult:
    """Check sequence numbers, links and hashes, and that the chain ends at `head` (no MACs:
    what a legacy trail is checked against before it is MACed)."""
    prev = start_prev
    expected_seq = 1
    for ev in events:
        bad = _link_problem(ev, expected_seq, prev)
        if bad:
            return VerifyResult(False, expected_seq - 1, bad[0], bad[1])
        prev = ev.hash
        expected_seq += 1
    checked = expected_seq - 1
    if head is not None and (head[0] != checked or (checked and head[1] != prev)):
        return _head_mismatch(checked, head[0])
    return VerifyResult(True, checked)


def _link_problem(ev: AuditEvent, expected_seq: int, prev: str) -> tuple[int, str] | None:
    if ev.seq != expected_seq:
        return expected_seq, f"event {expected_seq} is missing"
    if ev.prev_hash != prev:
        return ev.seq, "does not link to the event before it"
    if _recomputed(ev) != ev.hash:
        return ev.seq, "content was changed after it was written"
    return None


def _head_mismatch(checked: int, head_seq: int) -> VerifyResult:
    return VerifyResult(
        False,
        checked,
        checked + 1 if head_seq > checked else head_seq,
        f"the chain ends at event {checked} but the recorded head is event {head_seq}",
    )


def verify_trail(
    events: Iterable[AuditEvent],
    head: AuditHead | None,
    keys: AuditKeys,
    checkpoints: Sequence[Checkpoint] | None,
    has_entities: bool,
    reread: Callable[[], Sequence[Checkpoint] | None] | None = None,
) -> VerifyResult:
    """Everything `verify_chain` checks, plus: every event's and the head's MAC; every
    checkpoint's MAC and that the chain still holds its (seq, hash); every checkpoint the chain
    records having exported is still in `checkpoints`; and that a store with entities has
    events. `checkpoints` None means they are kept elsewhere (stdout) and are not checked;
    `reread` reads them again, for checkpoints the chain records that were exported after
    `checkpoints` was read."""
    wanted = {c.seq for c in checkpoints or ()}
    at: dict[int, str] = {}  # hash at each checkpointed seq
    recorded: list[tuple[int, int]] = []  # (seq of the checkpoint event, checkpointed seq)
    prev = GENESIS_HASH
    n = 0
    for ev in events:
        bad = _link_problem(ev, n + 1, prev)
        if bad is None and (why := keys.check("event", ev.hash, ev.key_id, ev.mac)):
            bad = ev.seq, f"event {ev.seq} {why}"
        if bad:
            return VerifyResult(False, n, bad[0], bad[1])
        if ev.seq in wanted:
            at[ev.seq] = ev.hash
        if ev.action == CHECKPOINT_ACTION and ev.entity_id.isdigit():
            recorded.append((ev.seq, int(ev.entity_id)))
        prev = ev.hash
        n += 1
    if head is None:
        if n or has_entities:
            what = f"{n} events" if n else "users and projects but no events"
            return VerifyResult(False, n, n + 1 if n else 1, f"the head row is missing ({what})")
    else:
        if why := keys.check("head", head_text(head.seq, head.hash), head.key_id, head.mac):
            return VerifyResult(False, n, min(head.seq, n + 1), f"the head row {why}")
        if head.seq != n or (n and head.hash != prev):
            return _head_mismatch(n, head.seq)
    if n == 0 and has_entities:
        return VerifyResult(False, 0, 1, "the store has users and projects but no audit events")
    if checkpoints is None:
        return VerifyResult(True, n)
    return _check_checkpoints(n, at, recorded, checkpoints, keys, reread)


def _check_checkpoints(
    n: int,
    at: dict[int, str],
    recorded: list[tuple[int, int]],
    checkpoints: Sequence[Checkpoint],
    keys: AuditKeys,
    reread: Callable[[], Sequence[Checkpoint] | None] | None,
) -> VerifyResult:
    for c in checkpoints:
        if why := keys.check("checkpoint", _text(c), c.key_id, c.mac):
            return VerifyResult(False, n, None, f"checkpoint on line {c.line} {why}")
        if c.seq > n:
            return VerifyResult(
                False,
                n,
                n + 1,
                f"checkpoint on line {c.line} vouches for event {c.seq}, but the chain ends at "
                f"event {n}: events were deleted",
            )
        if c.seq and at.get(c.seq) != c.hash:
            return VerifyResult(
                False,
                n,
                c.seq,
                f"event {c.seq} is not the one checkpoint line {c.line} vouches for: the chain "
                "was rewritten",
            )
    exported = {c.seq for c in checkpoints}
    if reread is not None and any(seq not in exported for _, seq in recorded):
        late = reread() or ()
        exported |= {c.seq for c in late if not keys.check("checkpoint", _text(c), c.key_id, c.mac)}
    for event_seq, seq in recorded:
        if seq not in exported:
            return VerifyResult(
                False,
                n,
                event_seq,
                f"event {event_seq} records a checkpoint of event {seq} that is not in the "
                "checkpoint file: checkpoints were removed",
            )
    return VerifyResult(True, n, checkpoints=len(checkpoints))
