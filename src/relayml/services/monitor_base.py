"""What the monitors service's parts share: looking a monitor up, and an alert's life (open,
grow, resolve) with its audit event and webhook, inside the caller's transaction."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from relayml.domain.audit import EntityKind, Event
from relayml.domain.deployments import Deployment
from relayml.domain.identity import Principal
from relayml.domain.monitors import (
    Alert,
    AlertKind,
    AlertNote,
    AlertState,
    Monitor,
    Severity,
    check_monitor_name,
)
from relayml.domain.notifications import alert_event
from relayml.errors import NotFound
from relayml.services.base import ServiceBase, utcnow
from relayml.services.denials import DenialLimiter
from relayml.services.monitor_reference import ReferenceCache
from relayml.services.notifications import NotificationService, Pending
from relayml.store.artifacts import ArtifactStore
from relayml.store.base import MetadataStore, Transaction

# Who an alert's automatic changes are by (opened by a window, cleared by one); no user name
# has an "@".
MONITOR_ACTOR = "@monitor"


class MonitorBase(ServiceBase):
    _references = ReferenceCache()  # references by digest, parsed once per process

    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        notifications: NotificationService | None = None,
        *,
        denials: DenialLimiter | None = None,
    ) -> None:
        super().__init__(store, artifacts, denials)
        self.notifications = notifications or NotificationService(store, artifacts)

    # lookups ------------------------------------------------------------------------------
    @staticmethod
    def _get(tx: Transaction, project: str, name: str) -> Monitor:
        found = tx.monitors.get(project, check_monitor_name(name))
        if found is None:
            raise NotFound(
                f"no monitor {name!r} in project {project!r}; list them with: relay monitors "
                f"ls -p {project}"
            )
        return found

    @staticmethod
    def _deployment(tx: Transaction, project: str, name: str) -> tuple[int, Deployment]:
        found = tx.deployments.get(project, name)
        if found is None:
            raise NotFound(
                f"no deployment {name!r} in project {project!r}; list them with: relay "
                f"deployments ls -p {project}"
            )
        return found

    def _send(self, pending: list[Pending]) -> None:
        self.notifications.dispatch(pending)

    # an alert's life ----------------------------------------------------------------------
    def _open_alert(
        self,
        tx: Transaction,
        who: Principal,
        roles: frozenset[str],
        mon: Monitor,
        *,
        kind: AlertKind,
        subject: str,
        severity: Severity,
        title: str,
        details: dict[str, Any],
        since: datetime,
        window: int | None,
        first_window: int | None,
        windows: int,
    ) -> tuple[Alert, list[Pending]]:
        now = utcnow()
        alert = Alert(
            id=uuid.uuid4().hex,
            project=mon.project,
            monitor=mon.name,
            deployment=mon.deployment,
            kind=kind,
            subject=subject,
            severity=severity,
            state=AlertState.OPEN,
            owner=mon.config.owner,
            title=title,
            details=details,
            since=since,
            first_window=first_window,
            last_window=window,
            windows=windows,
            opened_at=now,
            updated_at=now,
        )
        tx.monitors.insert_alert(mon.id, alert)
        note = AlertNote(now, MONITOR_ACTOR, "opened", title)
        tx.monitors.add_note(alert.id, note)
        alert = replace(alert, notes=(note,))
        payload = {
            "kind": kind.value,
            "subject": subject,
            "severity": severity.value,
            "monitor": mon.name,
            "title": title,
        }
        self.record(
            tx, who, roles, Event.ALERT_OPEN, mon.project, EntityKind.ALERT, alert.id, payload
        )
        pending = self.notifications.enqueue(tx, alert_event(alert, who.user, opened=True))
        return alert, pending

    @staticmethod
    def _grow_alert(
        tx: Transaction,
        alert: Alert,
        *,
        title: str,
        details: dict[str, Any],
        window: int | None,
        more: int,
    ) -> Alert:
        """The condition held in `more` further windows (or checks): count them, keep the
        newest numbers. Not audited: the alert's opening is, and each window's processing."""
        grown = replace(
            alert,
            title=title,
            details=details,
            last_window=window if window is not None else alert.last_window,
            windows=alert.windows + more,
            updated_at=utcnow(),
        )
        tx.monitors.update_alert(grown, alert.state)
        return grown

    def _resolve_alert(
        self,
        tx: Transaction,
        who: Principal,
        roles: frozenset[str],
        alert: Alert,
        *,
        by: str,
        text: str,
    ) -> tuple[Alert | None, list[Pending]]:
        """Resolve a live alert (None if it changed meanwhile, e.g. resolved by hand)."""
        now = utcnow()
        done = replace(
            alert, state=AlertState.RESOLVED, resolved_by=by, resolved_at=now, updated_at=now
        )
        if not tx.monitors.update_alert(done, alert.state):
            return None, []
        note = AlertNote(now, by, "resolved", text)
        tx.monitors.add_note(alert.id, note)
        done = replace(done, notes=(*alert.notes, note))
        payload = {"by": by, "text": text}
        self.record(
            tx, who, roles, Event.ALERT_RESOLVE, alert.project, EntityKind.ALERT, alert.id, payload
        )
        pending = self.notifications.enqueue(tx, alert_event(done, by, opened=False))
        return done, pending
