"""`AuditApi` over REST: the audit trail, its verification and checkpoints."""

from __future__ import annotations

from datetime import datetime

from relayml.client.http.transport import HttpTransport
from relayml.client.http.urls import API
from relayml.domain.audit import AuditAction, AuditEvent, Checkpoint, EntityKind, VerifyResult
from relayml.wire.audit import AuditEventOut, CheckpointOut, VerifyOut


class HttpAudit:
    def __init__(self, transport: HttpTransport) -> None:
        self.t = transport

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
    ) -> list[AuditEvent]:
        params = {
            "project": project,
            "entity_kind": str(entity_kind) if entity_kind is not None else None,
            "entity_id": entity_id,
            "actor": actor,
            "action": str(action) if action is not None else None,
            "limit": limit,
            "since": since.isoformat() if since is not None else None,
            "until": until.isoformat() if until is not None else None,
            "before": before,
        }
        rows = self.t.call("GET", f"{API}/audit", params=params)
        return [AuditEventOut.model_validate(e).to_domain() for e in rows]

    def verify(self, project: str | None = None) -> VerifyResult:
        found = self.t.call("GET", f"{API}/audit/verify", params={"project": project})
        return VerifyOut.model_validate(found).to_domain()

    def checkpoint(self) -> Checkpoint:
        found = self.t.call("POST", f"{API}/audit/checkpoints")
        return CheckpointOut.model_validate(found).to_domain()
