"""The audit trail on the wire: events and the hash chain's verification."""

from __future__ import annotations

from pydantic import Field

from relayml.domain.audit import AuditEvent, Checkpoint, VerifyResult
from relayml.wire.common import Time, WireModel, time_in


class AuditEventOut(WireModel):
    seq: int
    ts: Time
    actor: str
    roles: list[str]
    action: str
    entity_kind: str
    entity_id: str
    project: str
    outcome: str
    payload_digest: str
    prev_hash: str
    hash: str
    count: int = Field(
        default=1, ge=1, description="how many identical denied attempts this event stands for"
    )

    @classmethod
    def from_domain(cls, obj: AuditEvent) -> AuditEventOut:
        return cls(
            seq=obj.seq,
            # Always with microseconds, so the text sorts as the times do.
            ts=obj.ts.isoformat(timespec="microseconds"),
            actor=obj.actor,
            roles=list(obj.roles),
            action=obj.action,
            entity_kind=obj.entity_kind,
            entity_id=obj.entity_id,
            project=obj.project,
            outcome=obj.outcome,
            payload_digest=obj.payload_digest,
            prev_hash=obj.prev_hash,
            hash=obj.hash,
            count=obj.count,
        )

    def to_domain(self) -> AuditEvent:
        return AuditEvent(
            seq=self.seq,
            ts=time_in(self.ts),
            actor=self.actor,
            roles=list(self.roles),
            action=self.action,
            entity_kind=self.entity_kind,
            entity_id=self.entity_id,
            project=self.project,
            outcome=self.outcome,
            payload_digest=self.payload_digest,
            prev_hash=self.prev_hash,
            hash=self.hash,
            count=self.count,
        )


class VerifyOut(WireModel):
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    checkpoints: int = 0

    @classmethod
    def from_domain(cls, obj: VerifyResult) -> VerifyOut:
        return cls(
            ok=obj.ok,
            checked=obj.checked,
            first_bad_seq=obj.first_bad_seq,
            reason=obj.reason,
            checkpoints=obj.checkpoints,
        )

    def to_domain(self) -> VerifyResult:
        return VerifyResult(
            ok=self.ok,
            checked=self.checked,
            first_bad_seq=self.first_bad_seq,
            reason=self.reason,
            checkpoints=self.checkpoints,
        )


class CheckpointOut(WireModel):
    """A MACed checkpoint of the chain's head, as exported to the checkpoint file."""

    seq: int
    hash: str
    ts: Time
    key_id: str
    mac: str

    @classmethod
    def from_domain(cls, obj: Checkpoint) -> CheckpointOut:
        return cls(seq=obj.seq, hash=obj.hash, ts=obj.ts, key_id=obj.key_id, mac=obj.mac)

    def to_domain(self) -> Checkpoint:
        return Checkpoint(
            seq=self.seq, hash=self.hash, ts=self.ts, key_id=self.key_id, mac=self.mac
        )
