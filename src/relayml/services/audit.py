"""Reading and verifying the audit trail."""

from __future__ import annotations

from relayml.domain.audit import (
    AuditAction,
    AuditEvent,
    EntityKind,
    VerifyResult,
    parse_audit_action,
    parse_entity_kind,
    verify_chain,
)
from relayml.domain.identity import GLOBAL_SCOPE, Principal
from relayml.domain.roles import Action
from relayml.errors import InvalidInput
from relayml.services.base import ServiceBase


class AuditService(ServiceBase):
    def log(
        self,
        who: Principal,
        *,
        project: str | None = None,
        entity_kind: EntityKind | str | None = None,
        entity_id: str | None = None,
        actor: str | None = None,
        action: AuditAction | str | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        """The newest events first; `action` and `entity_kind` must be known values (an
        unknown one is an InvalidInput listing the valid ones, not an empty answer)."""
        kind = parse_entity_kind(entity_kind) if entity_kind else None
        verb = parse_audit_action(action) if action else None
        if not 1 <= limit <= 10_000:
            raise InvalidInput(f"limit must be between 1 and 10000, got {limit}")
        with self.read() as tx:
            if project is None or project == GLOBAL_SCOPE:
                project = None
                self.require(tx, who, Action.AUDIT_READ, GLOBAL_SCOPE, EntityKind.AUDIT, "log")
            else:
                self.require_in_project(
                    tx, who, Action.AUDIT_READ, project, EntityKind.AUDIT, "log"
                )
            return tx.audit.query(
                entity_kind=kind,
                entity_id=entity_id,
                actor=actor,
                project=project,
                action=verb,
                limit=limit,
            )

    def verify(self, who: Principal) -> VerifyResult:
        with self.read() as tx:
            self.require(tx, who, Action.AUDIT_READ, GLOBAL_SCOPE, EntityKind.AUDIT, "verify")
            head = tx.audit.head()
            events = list(tx.audit.iter_all())
        return verify_chain(events, head)
