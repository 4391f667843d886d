"""The audit trail on the wire: events and the hash chain's verification."""

from __future__ import annotations

from pydantic import Field

from relayml import wire
from relayml.domain.audit import AuditEvent, Checkpoint, VerifyResult
from relayml.wire.common import Time, WireModel


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
        return cls.model_validate(wire.event_out(obj))

    def to_domain(self) -> AuditEvent:
        return wire.event_in(self.model_dump())


class VerifyOut(WireModel):
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    checkpoints: int = 0

    @classmethod
    def from_domain(cls, obj: VerifyResult) -> VerifyOut:
        return cls.model_validate(wire.verify_out(obj))

    def to_domain(self) -> VerifyResult:
        return wire.verify_in(self.model_dump())


class CheckpointOut(WireModel):
    """A MACed checkpoint of the chain's head, as exported to the checkpoint file."""

    seq: int
    hash: str
    ts: Time
    key_id: str
    mac: str

    @classmethod
    def from_domain(cls, obj: Checkpoint) -> CheckpointOut:
        return cls.model_validate(wire.checkpoint_out(obj))

    def to_domain(self) -> Checkpoint:
        return wire.checkpoint_in(self.model_dump())
