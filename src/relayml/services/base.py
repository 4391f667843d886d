"""What every service shares: the stores, the clock, the permission check and the audit write."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from relayml.domain.audit import (
    CHECKPOINT_ACTION,
    AuditAction,
    AuditEvent,
    Checkpoint,
    EntityKind,
    make_checkpoint,
    payload_digest,
)
from relayml.domain.identity import GLOBAL_SCOPE, Principal, Role, check_name
from relayml.domain.roles import Action, RoleTable
from relayml.domain.tracking import check_run_id
from relayml.errors import NotFound, PermissionDenied, RelayError, Unprocessable
from relayml.services.denials import DenialLimiter
from relayml.services.role_tables import table_for
from relayml.store.artifacts import ArtifactStore
from relayml.store.base import MetadataStore, Transaction

PER_PROJECT_FORM = frozenset({Action.USER_READ, Action.AUDIT_READ, Action.ROLE_READ})
"""Actions checked platform-wide when no project is named, that a project's roles allow there."""

log = logging.getLogger(__name__)
# The actor of what Relay does on its own (automatic checkpoints); no user name has an "@".
SYSTEM = "@relay"


def utcnow() -> datetime:
    return datetime.now(UTC)


class ServiceBase:
    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        denials: DenialLimiter | None = None,
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.denials = denials or DenialLimiter()

    def require_in_project(
        self,
        tx: Transaction,
        who: Principal,
        action: Action,
        project: str,
        entity_kind: EntityKind,
        entity_id: str,
    ) -> frozenset[str]:
        """`require` for an action named by its project: the project must exist first (a
        NotFound that says who creates it and how), then the caller's roles there allow it."""
        check_name("project", project)
        if not tx.identity.project_exists(project):
            raise NotFound(
                f"no project {project!r}; an admin creates it with: relay projects create {project}"
            )
        return self.require(tx, who, action, project, entity_kind, entity_id)

    def roles(self, tx: Transaction, user: str, project: str) -> frozenset[str]:
        """The names of the roles `user` holds in `project` (with their platform-wide ones)."""
        grants = tx.identity.grants_of(user)
        roles = grants.get(GLOBAL_SCOPE, frozenset())
        if project != GLOBAL_SCOPE:
            roles = roles | grants.get(project, frozenset())
        return roles

    @staticmethod
    def table(tx: Transaction, project: str) -> RoleTable:
        """What each role may do in `project` ('*': the installation): the built-in table with
        the installation's and the project's roles documents applied (services/role_tables)."""
        return table_for(tx, project)

    def allowed(self, tx: Transaction, roles: frozenset[str], action: Action, project: str) -> bool:
        return self.table(tx, project).allows(roles, action)

    def require(
        self,
        tx: Transaction,
        who: Principal,
        action: Action,
        project: str,
        entity_kind: EntityKind,
        entity_id: str,
    ) -> frozenset[str]:
        """Return the caller's roles in `project` if they allow `action` there (the project's
        role table); otherwise record the denied attempt (in its own transaction, so it
        survives the rollback) and raise."""
        roles = self.roles(tx, who.user, project)
        table = self.table(tx, project)
        if table.allows(roles, action):
            return roles
        needed = ", ".join(table.holders(action)) or "(no role here)"
        held = ", ".join(sorted(roles)) or "no roles"
        where = "every project" if project == GLOBAL_SCOPE else f"project {project!r}"
        message = (
            f"{who.user} holds {held} in {where}; {action.value} needs one of: {needed}. "
            + self._advice(tx, who.user, action, project)
        )
        raise self.denied(who, roles, action, project, entity_kind, entity_id, message)

    def denied(
        self,
        who: Principal,
        roles: frozenset[str],
        action: Action,
        project: str,
        entity_kind: EntityKind,
        entity_id: str,
        message: str,
    ) -> PermissionDenied:
        """A PermissionDenied that read()/write() audit once the transaction has rolled back."""
        denied = PermissionDenied(message, action=action.value, user=who.user, project=project)
        # Recorded by read()/write() once this transaction has rolled back.
        denied.audit_record = {
            "actor": who.user,
            "roles": sorted(roles),
            "action": action,
            "entity_kind": entity_kind,
            "entity_id": entity_id,
            "project": project,
            "outcome": "denied",
            "payload_digest": payload_digest(None),
        }
        return denied

    def require_run_writer(
        self, tx: Transaction, who: Principal, action: Action, run_id: str, what: str | None
    ) -> tuple[str, frozenset[str]]:
        """The run's project and the caller's roles, if the caller may write `what` ("params,
        metrics", "artifacts", ...; None for what a finished run still takes, like tags) to
        it: the role allows `action`, the caller started the run or is an admin, and the run
        is still running when `what` is given."""
        project = tx.tracking.run_project(check_run_id(run_id))
        if project is None:
            raise NotFound(f"no run {run_id!r}; list runs with: relay runs ls")
        roles = self.require(tx, who, action, project, EntityKind.RUN, run_id)
        owner, status = tx.tracking.run_owner_status(run_id)
        if owner != who.user and Role.ADMIN not in roles:
            raise self.denied(
                who,
                roles,
                action,
                project,
                EntityKind.RUN,
                run_id,
                f"run {run_id} belongs to {owner}; only its owner or an admin writes to it. "
                "Start a run of your own (relay.start_run(..., parent=RUN_ID) to link it)",
            )
        if what is not None and status.terminal:
            raise Unprocessable(
                f"run {run_id} has ended ({status.value}); a run that has ended takes no more "
                f"{what}. Start a new run to log more (relay.start_run(..., parent=RUN_ID) "
                "links it to this one)",
                run_id=run_id,
                status=status.value,
            )
        return project, roles

    @staticmethod
    def _advice(tx: Transaction, user: str, action: Action, project: str) -> str:
        """What to do about a denial, asking for no more than the action needs: a role in the
        project, or naming a project where the caller already may; a platform-wide ('*') grant
        only for what acts on every project at once."""
        if project != GLOBAL_SCOPE:
            return (
                f"Ask an admin to grant a role in {project!r} (relay users grant {user} "
                f"--role ROLE --project {project})"
            )
        if action in PER_PROJECT_FORM:
            grants = tx.identity.grants_of(user)
            allowed = sorted(
                p
                for p, r in grants.items()
                if p != GLOBAL_SCOPE and table_for(tx, p).allows(r, action)
            )
            if allowed:
                return f"{user} may do this per project: name one with --project {allowed[0]}"
            return (
                "Name the project you mean with --project PROJECT; an admin grants a role "
                f"there with: relay users grant {user} --role ROLE --project PROJECT"
            )
        return (
            "This acts on every project at once; only a platform admin grants that "
            f"(relay users grant {user} --role ROLE --project '*')"
        )

    def store_upload(
        self, who: Principal, project: str, chunks: Iterable[bytes], expected: str | None
    ) -> tuple[str, int]:
        """Store uploaded bytes and record them as `who`'s upload into `project`: the only way
        bytes become nameable by digest in a project before an entity refers to them."""
        digest, size = self.artifacts.put_chunks(chunks, expected=expected)
        with self.write() as tx:
            tx.blobs.record_upload(project, digest, size, who.user, utcnow())
        return digest, size

    def require_blob(self, tx: Transaction, project: str, digest: str, what: str) -> None:
        """A blob named by digest must be reachable from `project` (see `BlobRepo.reachable`).
        The answer is the same whether the bytes exist in another project or nowhere."""
        if not tx.blobs.reachable(project, digest) or not self.artifacts.exists(digest):
            raise NotFound(
                f"no {what} {digest} in project {project!r}; upload it to this project first"
            )

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        with self._recording_denials(), self.store.read() as tx:
            yield tx

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        with self._recording_denials():
            with self.store.write() as tx:
                yield tx
            self._checkpoint_if_due(tx.audit.appended)

    def _checkpoint_if_due(self, appended: list[AuditEvent]) -> None:
        """After a commit that crossed a checkpoint (the first event, every Nth): export it."""
        anchor = self.store.anchor
        if anchor is None or not appended or appended[-1].action == CHECKPOINT_ACTION:
            return
        if anchor.due(appended[0].seq, appended[-1].seq):
            try:
                self.export_checkpoint(appended[-1].seq, appended[-1].hash, SYSTEM, frozenset())
            except (OSError, RelayError) as exc:
                # The caller's change is committed; the next checkpoint covers this one's events.
                log.error(
                    "could not export an audit checkpoint of event %s: %s", appended[-1].seq, exc
                )

    def export_checkpoint(
        self, seq: int, digest: str, actor: str, roles: frozenset[str]
    ) -> Checkpoint:
        """Append (seq, hash), MACed, to the checkpoint log, then record that in the chain, in
        this order: a crash in between leaves an extra checkpoint, never a missing one."""
        anchor = self.store.anchor
        if anchor is None:
            raise Unprocessable("this store has no audit key, so it cannot sign a checkpoint")
        cp = make_checkpoint(anchor.keys, seq, digest, utcnow())
        anchor.checkpoints.append(cp)
        with self.store.write() as tx:
            tx.audit.append(
                actor=actor,
                roles=sorted(roles),
                action=Action.AUDIT_CHECKPOINT,
                entity_kind=EntityKind.AUDIT,
                entity_id=str(seq),
                project=GLOBAL_SCOPE,
                outcome="ok",
                payload_digest=payload_digest(cp.to_json()),
                now=utcnow(),
            )
        return cp

    @contextmanager
    def _recording_denials(self) -> Iterator[None]:
        """A denied attempt is audited in its own transaction, after the failed one ended
        (SQLite allows one writer, so it cannot be written while that one is open); repeats
        are aggregated (services/denials.py)."""
        try:
            yield
        except PermissionDenied as exc:
            record = getattr(exc, "audit_record", None)
            if record is not None:
                self.write_denials(self.denials.admit(record))
            raise

    def write_denials(self, records: list[dict[str, Any]]) -> None:
        if records:
            with self.store.write() as tx:
                for record in records:
                    tx.audit.append(**record, now=utcnow())

    def record(
        self,
        tx: Transaction,
        who: Principal,
        roles: frozenset[str],
        action: AuditAction,
        project: str,
        entity_kind: EntityKind,
        entity_id: str,
        payload: Any,
    ) -> None:
        tx.audit.append(
            actor=who.user,
            roles=sorted(roles),
            action=action,
            entity_kind=entity_kind,
            entity_id=entity_id,
            project=project,
            outcome="ok",
            payload_digest=payload_digest(payload),
            now=utcnow(),
        )
