"""The audit trail: its closed vocabulary (actions, entity kinds) and hash chain; no I/O."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from relayml.domain.enums import parse_enum
from relayml.domain.roles import Action
from relayml.errors import InvalidInput

GENESIS_HASH = "0" * 64


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
    PIPELINE_REGISTER = "pipeline.register"
    PIPELINE_STEP = "pipeline.step"
    PIPELINE_FINISH = "pipeline.finish"
    WEBHOOK_ADD = "webhook.add"
    WEBHOOK_REMOVE = "webhook.remove"


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


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


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
    data = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def verify_chain(
    events: list[AuditEvent], head: tuple[int, str] | None, start_prev: str = GENESIS_HASH
) -> VerifyResult:
    """Check sequence numbers, links and hashes, and that the chain ends at the recorded head.

    `events` must be ordered by seq ascending. A deleted event shows as a gap or a broken link,
    an edited one as a hash mismatch, a reordered one as a broken link; a deleted tail shows
    as a mismatch with the head the store keeps.
    """
    prev = start_prev
    expected_seq = 1
    for ev in events:
        if ev.seq != expected_seq:
            return VerifyResult(
                False, expected_seq - 1, expected_seq, f"event {expected_seq} is missing"
            )
        if ev.prev_hash != prev:
            return VerifyResult(
                False, expected_seq - 1, ev.seq, "does not link to the event before it"
            )
        recomputed = event_hash(
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
        )
        if recomputed != ev.hash:
            return VerifyResult(
                False, expected_seq - 1, ev.seq, "content was changed after it was written"
            )
        prev = ev.hash
        expected_seq += 1
    checked = expected_seq - 1
    if head is not None:
        head_seq, head_hash = head
        if head_seq != checked or (checked and head_hash != prev):
            return VerifyResult(
                False,
                checked,
                checked + 1 if head_seq > checked else head_seq,
                f"the chain ends at event {checked} but the recorded head is event {head_seq}",
            )
    return VerifyResult(True, checked)
