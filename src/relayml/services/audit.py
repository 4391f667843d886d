"""Reading, verifying and checkpointing the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from relayml.domain.audit import (
    AuditAction,
    AuditEvent,
    Checkpoint,
    EntityKind,
    VerifyResult,
    head_text,
    parse_audit_action,
    parse_entity_kind,
    verify_chain,
    verify_trail,
)
from relayml.domain.identity import GLOBAL_SCOPE, Principal
from relayml.domain.roles import Action
from relayml.errors import InvalidInput, Unprocessable
from relayml.services.base import ServiceBase
from relayml.store.base import MetadataStore, Transaction


def check_trail(
    store: MetadataStore, tx: Transaction, checkpoints: Sequence[Checkpoint] | None
) -> VerifyResult:
    """The chain, every MAC and the exported `checkpoints` (read before `tx`'s snapshot began),
    as `relay audit verify` checks them; shared with the compliance report."""
    anchor = store.anchor
    head = tx.audit.head()
    if anchor is None:
        return verify_chain(tx.audit.iter_all(), (head.seq, head.hash) if head else None)
    has_entities = bool(tx.identity.list_users() or tx.identity.list_projects())
    return verify_trail(
        tx.audit.iter_all(),
        head,
        anchor.keys,
        checkpoints,
        has_entities,
        reread=anchor.checkpoints.read,
    )


def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidInput(f"{name} must be a time (ISO 8601), got {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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
        since: datetime | None = None,
        until: datetime | None = None,
        before: int | None = None,
    ) -> list[AuditEvent]:
        """The newest events first; `action` and `entity_kind` must be known values (an
        unknown one is an InvalidInput listing the valid ones, not an empty answer). `since`
        and `until` bound the time (at or after, before; naive times are UTC); `before` pages:
        the events below that sequence number (the last one of the previous page)."""
        kind = parse_entity_kind(entity_kind) if entity_kind else None
        verb = parse_audit_action(action) if action else None
        if not 1 <= limit <= 10_000:
            raise InvalidInput(f"limit must be between 1 and 10000, got {limit}")
        since, until = _utc(since, "since"), _utc(until, "until")
        if before is not None and (isinstance(before, bool) or not isinstance(before, int)):
            raise InvalidInput(f"before must be an event's sequence number, got {before!r}")
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
                since=since,
                until=until,
                before=before,
            )

    def verify(self, who: Principal, project: str | None = None) -> VerifyResult:
        """The chain, every MAC, and the exported checkpoints (docs/governance.md).

        The chain runs through every project's events, so it is always checked whole. Asked
        with no project, it needs `audit.read` in '*'; asked for a `project`, `audit.read`
        there is enough: the answer names no event (ok, or the sequence number where the
        chain first breaks and what is wrong there: a link, a hash, a MAC, a checkpoint), so a
        project's governance officer learns that the trail holds and nothing of other
        projects' events but how many there are."""
        anchor = self.store.anchor
        # Read before the database snapshot: a checkpoint is exported after its event commits,
        # so every checkpoint read here vouches for an event the snapshot holds.
        checkpoints = anchor.checkpoints.read() if anchor else None
        with self.read() as tx:
            if project is None:
                self.require(tx, who, Action.AUDIT_READ, GLOBAL_SCOPE, EntityKind.AUDIT, "verify")
            else:
                self.require_in_project(
                    tx, who, Action.AUDIT_READ, project, EntityKind.AUDIT, "verify"
                )
            return check_trail(self.store, tx, checkpoints)

    def checkpoint(self, who: Principal) -> Checkpoint:
        """Export a checkpoint of the chain's head now (admin; also done every N events)."""
        with self.read() as tx:
            roles = self.require(
                tx, who, Action.AUDIT_CHECKPOINT, GLOBAL_SCOPE, EntityKind.AUDIT, "head"
            )
            head = tx.audit.head()
        if head is None or head.seq == 0:
            raise Unprocessable("the audit trail has no events yet: nothing to checkpoint")
        anchor = self.store.anchor
        if anchor is not None and (
            why := anchor.keys.check("head", head_text(head.seq, head.hash), head.key_id, head.mac)
        ):
            raise Unprocessable(
                f"refusing to vouch for the audit head: the head row {why}. Run "
                "`relay audit verify`"
            )
        return self.export_checkpoint(head.seq, head.hash, who.user, roles)
