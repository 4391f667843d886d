"""Platform events and the webhooks that receive them (pure: no I/O).

One event type for everything Relay tells the outside world: a kind from a closed set, the
project, the subject it is about ("pipeline:etl/nightly", later "model:churn@4"), a JSON
payload and the time. A project's webhooks receive its events, signed; each delivery is
recorded with its attempts.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from relayml.domain.models import PromotionRequest
from relayml.domain.monitors import Alert
from relayml.domain.numbers import json_safe
from relayml.domain.pipelines import PipelineRun
from relayml.errors import InvalidInput


class EventKind(StrEnum):
    PIPELINE_RUN_FAILED = "pipeline_run.failed"
    REQUEST_OPENED = "request.opened"
    REQUEST_APPROVED = "request.approved"  # an approval that does not yet complete it
    REQUEST_APPLIED = "request.applied"  # approved, and the alias moved
    REQUEST_REJECTED = "request.rejected"
    REQUEST_WITHDRAWN = "request.withdrawn"
    REQUEST_COMMENTED = "request.commented"
    DEPLOYMENT_CHANGED = "deployment.changed"  # created, retargeted, traffic, promoted, rolled back
    ALERT_OPENED = "alert.opened"  # a monitor's alert opened (drift, performance, model shift)
    ALERT_RESOLVED = "alert.resolved"  # it cleared on its own, or someone resolved it


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    project: str
    subject: str
    payload: dict[str, Any]
    time: datetime
    text: str = ""  # one line for people (chat webhooks show it)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def body(self) -> bytes:
        """The bytes POSTed (and signed): compact JSON with sorted keys."""
        doc = {
            "id": self.id,
            "kind": self.kind.value,
            "project": self.project,
            "subject": self.subject,
            "time": self.time.isoformat(),
            "payload": self.payload,
            "text": self.text,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Webhook:
    id: str
    project: str
    url: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class IssuedWebhook:
    """A webhook just added, with its signing secret: the only time the secret is shown."""

    webhook: Webhook
    secret: str


@dataclass(frozen=True)
class Delivery:
    id: str
    webhook_id: str
    event_id: str
    event_kind: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    updated_at: datetime
    next_attempt_at: datetime | None = None  # None: no attempt is due (delivered or failed)


@dataclass(frozen=True)
class Claim:
    """One attempt of a delivery, claimed by one sender until `lease_until`: nobody else makes
    that attempt; if the sender dies, the lease runs out and the next attempt is claimable."""

    delivery_id: str
    webhook_id: str
    url: str
    stored_secret: str  # as the store keeps it (sealed); the service opens it
    event: Event
    number: int  # this attempt's number, from 1
    owner: str
    lease_until: datetime
    expired_lease: bool  # the previous attempt's sender never recorded its result


def check_webhook_url(url: str) -> str:
    """An absolute http(s) URL with a host; anything else is refused before it is stored."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"webhook URL {url!r} is not an absolute http(s) URL; give one such as "
            "https://hooks.example.com/relay"
        )
    if len(url) > 2048:
        raise InvalidInput(f"webhook URL is {len(url)} characters; the limit is 2048")
    return url


def check_webhook_id(value: str) -> str:
    if not (isinstance(value, str) and len(value) == 32 and value.isalnum()):
        raise InvalidInput(f"{value!r} is not a webhook id; list them with: relay webhooks ls")
    return value


def check_delivery_id(value: str) -> str:
    if not (isinstance(value, str) and len(value) == 32 and value.isalnum()):
        raise InvalidInput(
            f"{value!r} is not a delivery id; list them with: relay webhooks deliveries --json"
        )
    return value


def pipeline_run_failed(run: PipelineRun) -> Event:
    """The event for a pipeline run that ended failed."""
    payload = {
        "pipeline": run.pipeline,
        "run_id": run.id,
        "trigger": run.trigger.value,
        "scheduled_for": run.scheduled_for.isoformat() if run.scheduled_for else None,
        "dataset": run.dataset,
        "failed_steps": [s.name for s in run.failed_steps],
        "skipped_steps": [s.name for s in run.steps if s.status.value == "skipped"],
        "error": run.error,
    }
    return Event(
        EventKind.PIPELINE_RUN_FAILED,
        run.project,
        f"pipeline:{run.project}/{run.pipeline}",
        payload,
        run.ended_at or run.started_at,
        text=f"Relay: pipeline {run.project}/{run.pipeline} run {run.id} failed: {run.error}",
    )


_REQUEST_EVENTS = {
    "opened": EventKind.REQUEST_OPENED,
    "approve": EventKind.REQUEST_APPROVED,
    "approved": EventKind.REQUEST_APPROVED,
    "applied": EventKind.REQUEST_APPLIED,
    "reject": EventKind.REQUEST_REJECTED,
    "withdraw": EventKind.REQUEST_WITHDRAWN,
    "comment": EventKind.REQUEST_COMMENTED,
}


def model_request_event(request: PromotionRequest, what: str, by: str) -> Event:
    """The event for a step in a promotion request's life (`what`: opened, approved, applied,
    reject, withdraw, comment), sent to the project's webhooks so its participants hear of it."""
    kind = _REQUEST_EVENTS[what]
    last = request.reviews[-1] if request.reviews else None
    payload = {
        "request": request.id,
        "model": request.model,
        "version": request.version,
        "alias": request.alias,
        "state": request.state.value,
        "requester": request.requester,
        "by": by,
        "text": last.text if last and what != "opened" else request.note,
        "failed_evidence": [e.name.value for e in request.failed_evidence],
    }
    verb = kind.value.split(".", 1)[1]
    return Event(
        kind,
        request.project,
        f"model:{request.project}/{request.ref}",
        payload,
        last.at if last and what != "opened" else request.created_at,
        text=(
            f"Relay: request {request.id} to promote {request.ref} to {request.alias} "
            f"{verb} by {by}"
        ),
    )


def alert_event(alert: Alert, by: str, opened: bool) -> Event:
    """The event for an alert that opened or resolved, with what changed, how much and since
    when, so whoever receives it can act without opening Relay first."""
    kind = EventKind.ALERT_OPENED if opened else EventKind.ALERT_RESOLVED
    payload = {
        "alert": alert.id,
        "monitor": alert.monitor,
        "deployment": alert.deployment,
        "kind": alert.kind.value,
        "family": alert.kind.family.value,
        "subject": alert.subject,
        "severity": alert.severity.value,
        "state": alert.state.value,
        "owner": alert.owner,
        "title": alert.title,
        "details": json_safe(alert.details),
        "since": alert.since.isoformat(),
        "windows": alert.windows,
        "last_window": alert.last_window,
        "by": by,
        "link": alert.link,
    }
    verb = "opened" if opened else "resolved"
    return Event(
        kind,
        alert.project,
        f"monitor:{alert.project}/{alert.monitor}",
        payload,
        alert.updated_at,
        text=f"Relay: [{alert.severity.value}] alert {verb} on {alert.monitor}: {alert.title}",
    )
