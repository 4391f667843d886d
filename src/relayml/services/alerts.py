"""Alerts as hand-offs, and model-shift checks.

An alert is in the inbox of the role that owns its monitor (ML engineer by default) while it
is live (open or acknowledged). People acknowledge it (someone is on it), comment on it and
resolve it by hand (`alert.ack`); the monitor opens, grows and resolves it on its own as its
condition comes and goes (`services/monitor_processing.py`).

`record_check(project, monitor, kind, passed, details)` is how a model-shift check (a served
digest compared with the registered one, a golden-set replay) lands here: a failure opens an
alert of kind `model_shift`, subject the check's kind, at once (no persistence gating: a
different artifact is not noise); `digest` is critical, `replay` a warning; a pass resolves
the live alert of that kind. Each check is kept for the monitor's report (`checks`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from relayml.domain.audit import EntityKind, Event
from relayml.domain.identity import Principal, Role
from relayml.domain.models import InboxItem
from relayml.domain.monitors import (
    CHECK_SEVERITY,
    Alert,
    AlertKind,
    AlertNote,
    AlertState,
    Check,
    CheckKind,
    check_alert_id,
    check_note,
    parse_check_kind,
)
from relayml.domain.numbers import json_safe
from relayml.domain.roles import Action
from relayml.errors import Conflict, InvalidInput, NotFound
from relayml.services.base import utcnow
from relayml.services.monitor_base import MONITOR_ACTOR, MonitorBase
from relayml.services.notifications import Pending
from relayml.store.base import Transaction

MAX_ALERTS = 1000
MAX_CHECKS = 1000
MAX_DETAILS = 64 * 1024


def inbox_items(tx: Transaction, project: str, roles: frozenset[str]) -> list[InboxItem]:
    """The live alerts of `project` whose owner is one of `roles` (an admin's: every one, as
    the local admin of an embedded store is also its ML engineer), as inbox items."""
    items = []
    for a in tx.monitors.list_alerts(
        [project],
        states=[AlertState.OPEN, AlertState.ACKNOWLEDGED],
        owners=None if Role.ADMIN in roles else sorted(roles),
        limit=MAX_ALERTS,
    ):
        acked = f"; acknowledged by {a.acknowledged_by}" if a.acknowledged_by else ""
        title = f"{a.monitor}: {a.title} (since {a.since:%Y-%m-%d %H:%M}{acked})"
        items.append(
            InboxItem(
                "alert",
                project,
                a.id,
                title,
                a.opened_at,
                f"monitor:{a.monitor}",
                severity=a.severity.value,
            )
        )
    return items


def _check_title(kind: CheckKind, details: dict[str, Any]) -> str:
    said = details.get("message") or details.get("reason")
    head = (
        "the served model's digest differs from the registered one"
        if kind is CheckKind.DIGEST
        else "the golden-set replay gave other outputs than at registration"
    )
    return f"{head}: {said}" if isinstance(said, str) and said else head


def _check_details(details: object) -> dict[str, Any]:
    import json

    if details is None:
        return {}
    if not isinstance(details, dict) or not all(isinstance(k, str) for k in details):
        raise InvalidInput("check details must be a JSON object (a dict with text keys)")
    safe: dict[str, Any] = json_safe(details)
    if len(json.dumps(safe)) > MAX_DETAILS:
        raise InvalidInput(f"check details are over {MAX_DETAILS // 1024} KiB; keep the gist")
    return safe


class AlertsMixin(MonitorBase):
    # reading ------------------------------------------------------------------------------
    def list_alerts(
        self,
        who: Principal,
        project: str,
        *,
        monitor: str | None = None,
        include_resolved: bool = False,
        limit: int = 100,
    ) -> list[Alert]:
        """The project's alerts, newest change first: live ones (open, acknowledged), or all."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_ALERTS:
            raise InvalidInput(f"limit must be 1 to {MAX_ALERTS}, not {limit!r:.40}")
        if not isinstance(include_resolved, bool):
            raise InvalidInput("include_resolved must be true or false")
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.MONITOR_READ, project, EntityKind.PROJECT, project
            )
            monitor_id = self._get(tx, project, monitor).id if monitor is not None else None
            states = None if include_resolved else [AlertState.OPEN, AlertState.ACKNOWLEDGED]
            return tx.monitors.list_alerts(
                [project], monitor_id=monitor_id, states=states, limit=limit
            )

    def get_alert(self, who: Principal, project: str, alert_id: str) -> Alert:
        check_alert_id(alert_id)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.MONITOR_READ, project, EntityKind.ALERT, alert_id
            )
            return self._alert(tx, project, alert_id)[1]

    @staticmethod
    def _alert(tx: Transaction, project: str, alert_id: str) -> tuple[str, Alert]:
        found = tx.monitors.get_alert(project, alert_id)
        if found is None:
            raise NotFound(
                f"no alert {alert_id} in project {project!r}; list them with: relay alerts ls "
                f"-p {project}"
            )
        return found

    # by hand ------------------------------------------------------------------------------
    def ack_alert(self, who: Principal, project: str, alert_id: str, *, note: str = "") -> Alert:
        """Say someone is on it: the alert stays live (and in the inbox) until it clears or is
        resolved."""
        check_alert_id(alert_id)
        text = check_note("note", note)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.ALERT_ACK, project, EntityKind.ALERT, alert_id
            )
            _, alert = self._alert(tx, project, alert_id)
            if alert.state is not AlertState.OPEN:
                raise Conflict(
                    f"alert {alert_id} is {alert.state.value}"
                    + (f" (by {alert.acknowledged_by})" if alert.acknowledged_by else "")
                    + "; only an open alert is acknowledged"
                )
            now = utcnow()
            done = replace(
                alert,
                state=AlertState.ACKNOWLEDGED,
                acknowledged_by=who.user,
                acknowledged_at=now,
                updated_at=now,
            )
            if not tx.monitors.update_alert(done, alert.state):
                raise Conflict(f"alert {alert_id} changed meanwhile; look again and retry")
            note_row = AlertNote(now, who.user, "acknowledged", text)
            tx.monitors.add_note(alert_id, note_row)
            self.record(
                tx,
                who,
                roles,
                Action.ALERT_ACK,
                project,
                EntityKind.ALERT,
                alert_id,
                {"note": text},
            )
            return replace(done, notes=(*alert.notes, note_row))

    def comment_alert(self, who: Principal, project: str, alert_id: str, text: str) -> Alert:
        """Add to the alert's record (what was found, who was told); any state."""
        check_alert_id(alert_id)
        text = check_note("comment", text, required=True)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.ALERT_ACK, project, EntityKind.ALERT, alert_id
            )
            _, alert = self._alert(tx, project, alert_id)
            note_row = AlertNote(utcnow(), who.user, "comment", text)
            tx.monitors.add_note(alert_id, note_row)
            self.record(
                tx,
                who,
                roles,
                Event.ALERT_COMMENT,
                project,
                EntityKind.ALERT,
                alert_id,
                {"text": text},
            )
            return replace(alert, notes=(*alert.notes, note_row))

    def resolve_alert(self, who: Principal, project: str, alert_id: str, *, reason: str) -> Alert:
        """Close a live alert by hand, saying why. If its condition still holds, the monitor
        opens a new one at its next window."""
        check_alert_id(alert_id)
        text = check_note("reason", reason, required=True)
        pending: list[Pending] = []
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.ALERT_ACK, project, EntityKind.ALERT, alert_id
            )
            _, alert = self._alert(tx, project, alert_id)
            if not alert.state.live:
                raise Conflict(
                    f"alert {alert_id} is resolved already (by {alert.resolved_by}); comment on "
                    "it instead"
                )
            done, pending = self._resolve_alert(tx, who, roles, alert, by=who.user, text=text)
            if done is None:
                raise Conflict(f"alert {alert_id} changed meanwhile; look again and retry")
        self._send(pending)
        return done

    # model-shift checks -------------------------------------------------------------------
    def record_check(
        self,
        who: Principal,
        project: str,
        monitor: str,
        kind: str,
        passed: bool,
        details: dict[str, Any],
    ) -> Check:
        """Record a model-shift check of the monitor's deployment (kind `digest` or `replay`),
        run by whoever calls (`relayml.monitoring`). A failure opens (or grows) the alert of
        kind `model_shift`, subject `kind`, at once; a pass resolves it. `details` is a JSON
        object (e.g. expected and served digests, rows compared, largest difference; a
        `message` key becomes the alert's title)."""
        check_kind = parse_check_kind(kind)
        if not isinstance(passed, bool):
            raise InvalidInput(f"passed must be true or false, not {passed!r:.40}")
        doc = _check_details(details)
        pending: list[Pending] = []
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.MONITOR_MANAGE, project, EntityKind.MONITOR, monitor
            )
            mon = self._get(tx, project, monitor)
            if not mon.active:
                raise Conflict(
                    f"monitor {monitor!r} is {mon.status.value}; resume it to record checks"
                )
            now = utcnow()
            check = tx.monitors.add_check(
                mon.id, Check(mon.name, 0, check_kind, passed, doc, now, who.user)
            )
            self.record(
                tx,
                who,
                roles,
                Event.MONITOR_CHECK,
                project,
                EntityKind.MONITOR,
                mon.name,
                {"kind": check_kind.value, "passed": passed, "seq": check.seq},
            )
            live = tx.monitors.live_alerts(mon.id).get((AlertKind.MODEL_SHIFT, check_kind.value))
            if not passed:
                title = _check_title(check_kind, doc)
                details_doc = {"check": check.seq, **doc}
                if live is None:
                    _, pending = self._open_alert(
                        tx,
                        who,
                        roles,
                        mon,
                        kind=AlertKind.MODEL_SHIFT,
                        subject=check_kind.value,
                        severity=CHECK_SEVERITY[check_kind],
                        title=title,
                        details=details_doc,
                        since=now,
                        window=None,
                        first_window=None,
                        windows=0,
                    )
                else:
                    self._grow_alert(
                        tx, live, title=title, details=details_doc, window=None, more=0
                    )
            elif live is not None:
                _, pending = self._resolve_alert(
                    tx,
                    who,
                    roles,
                    live,
                    by=MONITOR_ACTOR,
                    text=f"check {check.seq} ({check_kind.value}) passed",
                )
        self._send(pending)
        return check

    def checks(self, who: Principal, project: str, name: str, *, limit: int = 100) -> list[Check]:
        """The monitor's newest model-shift checks, oldest first."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_CHECKS:
            raise InvalidInput(f"limit must be 1 to {MAX_CHECKS}, not {limit!r:.40}")
        with self.read() as tx:
            self.require_in_project(tx, who, Action.MONITOR_READ, project, EntityKind.MONITOR, name)
            mon = self._get(tx, project, name)
            return tx.monitors.checks(mon.id, mon.name, limit)
