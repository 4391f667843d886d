"""Project webhooks and the events they receive.

Configuring a webhook is role-checked (`webhook.manage`) and audited; its secret is returned
once, when it is added. Events are recorded by the service that raises them, in the same
transaction as the change they report, together with one pending delivery per webhook (an
outbox: an event is never announced for a change that rolled back). After that transaction
commits, `send` POSTs each delivery (signed, retried with backoff by `relayml.notifications`)
and records every attempt: attempts, last status code or error, delivered_at.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import partial

from relayml.domain.audit import EntityKind
from relayml.domain.audit import Event as Audited
from relayml.domain.identity import Principal, check_name
from relayml.domain.notifications import (
    Delivery,
    DeliveryStatus,
    Event,
    IssuedWebhook,
    Webhook,
    check_webhook_id,
    check_webhook_url,
)
from relayml.domain.roles import Action
from relayml.errors import InvalidInput, NotFound
from relayml.notifications import Attempt, deliver, new_secret
from relayml.notifications import delivery as policy
from relayml.services.base import ServiceBase, utcnow
from relayml.store.base import Transaction

MAX_DELIVERIES = 1000


@dataclass(frozen=True)
class Pending:
    delivery_id: str
    url: str
    secret: str
    event: Event


class NotificationService(ServiceBase):
    # how deliveries are retried (tests shorten the backoff)
    attempts = policy.ATTEMPTS
    backoff = policy.BACKOFF
    timeout = policy.TIMEOUT

    # webhooks ----------------------------------------------------------------------------
    def add_webhook(self, who: Principal, project: str, url: str) -> IssuedWebhook:
        """Register `url` to receive the project's events; returns it with its signing secret,
        which is shown this once."""
        check_webhook_url(url)
        hook = Webhook(uuid.uuid4().hex, project, url, utcnow(), who.user)
        secret = new_secret()
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.WEBHOOK_MANAGE, project, EntityKind.WEBHOOK, hook.id
            )
            tx.notifications.add_webhook(hook, secret)
            payload = {"url": url}  # never the secret
            self.record(
                tx, who, roles, Audited.WEBHOOK_ADD, project, EntityKind.WEBHOOK, hook.id, payload
            )
        return IssuedWebhook(hook, secret)

    def list_webhooks(self, who: Principal, project: str) -> list[Webhook]:
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.WEBHOOK_READ, project, EntityKind.PROJECT, project
            )
            return tx.notifications.webhooks(project)

    def remove_webhook(self, who: Principal, project: str, webhook_id: str) -> None:
        """Stop delivering to a webhook; its past deliveries stay on record."""
        check_webhook_id(webhook_id)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.WEBHOOK_MANAGE, project, EntityKind.WEBHOOK, webhook_id
            )
            if not tx.notifications.remove_webhook(project, webhook_id, utcnow()):
                raise NotFound(
                    f"no webhook {webhook_id} in project {project!r}; list them with: "
                    f"relay webhooks ls --project {project}"
                )
            self.record(
                tx, who, roles, Audited.WEBHOOK_REMOVE, project, EntityKind.WEBHOOK, webhook_id, {}
            )

    def deliveries(
        self,
        who: Principal,
        project: str,
        webhook_id: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """The project's deliveries, most recently updated first."""
        if webhook_id is not None:
            check_webhook_id(webhook_id)
        if not isinstance(limit, int) or not 1 <= limit <= MAX_DELIVERIES:
            raise InvalidInput(f"limit must be between 1 and {MAX_DELIVERIES}, got {limit!r}")
        check_name("project", project)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.WEBHOOK_READ, project, EntityKind.PROJECT, project
            )
            return tx.notifications.deliveries(project, webhook_id, limit)

    # events ------------------------------------------------------------------------------
    def enqueue(self, tx: Transaction, event: Event) -> list[Pending]:
        """Record `event` and a pending delivery per live webhook of its project, inside the
        caller's transaction; `send` the result once that transaction has committed."""
        tx.notifications.add_event(event)
        pending = []
        now = utcnow()
        for hook, secret in tx.notifications.signing_targets(event.project):
            delivery_id = uuid.uuid4().hex
            tx.notifications.add_delivery(delivery_id, hook.id, event.id, now)
            pending.append(Pending(delivery_id, hook.url, secret, event))
        return pending

    def send(self, pending: list[Pending]) -> list[Delivery]:
        """Deliver each pending delivery, recording every attempt; returns their final state."""
        done = []
        for item in pending:
            deliver(
                item.url,
                item.event,
                secret=item.secret,
                delivery_id=item.delivery_id,
                attempts=self.attempts,
                backoff=self.backoff,
                timeout=self.timeout,
                on_attempt=partial(self._record, item.delivery_id),
            )
            with self.store.read() as tx:
                final = tx.notifications.get_delivery(item.delivery_id)
            if final is not None:
                done.append(final)
        return done

    def _record(self, delivery_id: str, attempt: Attempt) -> None:
        if attempt.delivered:
            status = DeliveryStatus.DELIVERED
        else:
            status = DeliveryStatus.FAILED if attempt.final else DeliveryStatus.PENDING
        with self.store.write() as tx:
            tx.notifications.record_attempt(
                delivery_id,
                attempts=attempt.number,
                status=status,
                status_code=attempt.status_code,
                error=attempt.error,
                now=utcnow(),
            )
