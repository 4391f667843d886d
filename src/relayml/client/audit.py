"""The `audit` area's client protocol, `AuditApi`: what both backends implement (the
services bound in-process by `client.local`, REST in `client/http/audit.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from relayml.domain.audit import AuditAction, AuditEvent, Checkpoint, EntityKind, VerifyResult


class AuditApi(Protocol):
    """`services.audit`: the hash-chained, MACed audit trail and its checkpoints."""

    def log(
        self,
        *,
        project: str | None = None,
        entity_kind: EntityKind | str | None = None,
        entity_id: str | None = None,
        actor: str | None = None,
        action: AuditAction | str | None = None,
        limit: int = 100,
        since: datetime | None = None,
        until: datetime | None = None,
        before: int | None = None,
    ) -> list[AuditEvent]: ...
    def verify(self, project: str | None = None) -> VerifyResult: ...
    def checkpoint(self) -> Checkpoint: ...
