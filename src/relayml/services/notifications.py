"""Project webhooks and the events they receive.

Configuring a webhook is role-checked (`webhook.manage`) and audited; its secret is returned
once, when it is added. Events are recorded by the service that raises them, in the same
transaction as the change they report, together with one pending delivery per webhook (an
outbox: an event is never announced for a change that rolled back). After that transaction
commits, `dispatch` wakes this process's dispatcher (`services/dispatcher.py`, run by `relay
server` and the long-running CLI loops) or, with none running, makes each delivery's first
attempt at once with a short timeout. Every attempt is claimed with a lease (`attempt`), made
(`relayml.notifications.post`) and recorded with the time the next one is due, so retries wait
in the database, not in a caller, and an attempt whose sender died is made again by the next.
Signing secrets are stored sealed with the server key (`relayml.notifications.sealing`); a
delivery whose secret no key at hand opens waits, with the reason recorded, and is never sent
unsigned.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from relayml.domain.audit import EntityKind
from relayml.domain.audit import Event as Audited
from relayml.domain.identity import Principal, check_name
from relayml.domain.notifications import (
    Delivery,
    DeliveryStatus,
    Event,
    IssuedWebhook,
    Webhook,
    check_delivery_id,
    check_webhook_id,
    check_webhook_url,
)
from relayml.domain.roles import Action
from relayml.errors import Conflict, IntegrityError, InvalidInput, NotFound, RelayError
from relayml.notifications import delivery as policy
from relayml.notifications import new_secret, post, retry_delay
from relayml.notifications.sealing import SecretBox, is_current_format
from relayml.services.base import ServiceBase, utcnow
from relayml.services.denials import DenialLimiter
from relayml.store.artifacts import ArtifactStore
from relayml.store.base import MetadataStore, Transaction

MAX_DELIVERIES = 1000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pending:
    """A delivery recorded in a transaction, to `dispatch` once it has committed."""

    delivery_id: str


def sender_id() -> str:
    """Who holds a lease: host, process and thread, and a random part (never reused)."""
    host = socket.gethostname()[:24]
    return f"{host}:{os.getpid()}:{threading.get_ident() % 10**6}:{uuid.uuid4().hex[:8]}"


class NotificationService(ServiceBase):
    # how deliveries are retried (tests shorten them)
    attempts = policy.ATTEMPTS
    backoff = policy.BACKOFF
    timeout = policy.TIMEOUT
    first_timeout = 2.0  # the inline first attempt when no dispatcher runs (embedded)
    lease = 60.0  # how long a claimed attempt is its sender's; past it, another sender retries
    wake: Callable[[], None] | None = None  # set by this process's running dispatcher

    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        denials: DenialLimiter | None = None,
        *,
        box: SecretBox | None = None,
    ) -> None:
        super().__init__(store, artifacts, denials)
        self.box = box  # seals and opens signing secrets; None: no key was given

    # webhooks ----------------------------------------------------------------------------
    def add_webhook(self, who: Principal, project: str, url: str) -> IssuedWebhook:
        """Register `url` to receive the project's events; returns it with its signing secret,
        which is shown this once."""
        check_webhook_url(url)
        hook = Webhook(uuid.uuid4().hex, project, url, utcnow(), who.user)
        secret = new_secret()
        sealed = self._box().seal(secret, hook.id)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.WEBHOOK_MANAGE, project, EntityKind.WEBHOOK, hook.id
            )
            tx.notifications.add_webhook(hook, sealed)
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

    def redeliver(self, who: Principal, project: str, delivery_id: str) -> Delivery:
        """Send a delivery again, now, with a new series of attempts (the same delivery id, so
        a receiver that processed it already can tell): after a receiver's outage, or to replay
        one it lost. Returns it as it is once dispatched."""
        check_delivery_id(delivery_id)
        check_name("project", project)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.WEBHOOK_MANAGE, project, EntityKind.PROJECT, project
            )
            found = tx.notifications.delivery_in(project, delivery_id)
            if found is None:
                raise NotFound(
                    f"no delivery {delivery_id} in project {project!r}; list them with: "
                    f"relay webhooks deliveries --project {project}"
                )
            delivery, removed = found
            if removed:
                raise Conflict(
                    f"delivery {delivery_id} was to webhook {delivery.webhook_id}, which was "
                    "removed; add the URL again to receive new events"
                )
            tx.notifications.requeue(delivery_id, utcnow())
            payload = {"delivery": delivery_id, "was": delivery.status.value}
            self.record(
                tx, who, roles, Audited.WEBHOOK_REDELIVER, project, EntityKind.WEBHOOK,
                delivery.webhook_id, payload,
            )  # fmt: skip
        self.dispatch([Pending(delivery_id)])
        with self.read() as tx:
            again = tx.notifications.get_delivery(delivery_id)
        assert again is not None
        return again

    # events ------------------------------------------------------------------------------
    def enqueue(self, tx: Transaction, event: Event) -> list[Pending]:
        """Record `event` and a pending delivery per live webhook of its project, inside the
        caller's transaction; `dispatch` the result once that transaction has committed."""
        tx.notifications.add_event(event)
        pending = []
        now = utcnow()
        for hook in tx.notifications.live_webhooks(event.project):
            delivery_id = uuid.uuid4().hex
            tx.notifications.add_delivery(delivery_id, hook.id, event.id, now)
            pending.append(Pending(delivery_id))
        return pending

    def dispatch(self, pending: Sequence[Pending]) -> None:
        """After the commit: wake this process's dispatcher; with none running (the embedded
        CLI and SDK), make each delivery's first attempt here, waiting at most `first_timeout`
        for it, and leave any retry to whoever delivers next (`relay webhooks deliver`, a
        long-running loop, a server). The caller never waits for a retry."""
        if not pending:
            return
        if self.wake is not None:
            self.wake()
            return
        owner = sender_id()
        for item in pending:
            try:
                self.attempt(owner, item.delivery_id, timeout=self.first_timeout)
            except Exception:  # the change is committed; its delivery waits for the next sender
                log.exception("webhook delivery %s: first attempt failed", item.delivery_id)

    def deliver_due(
        self,
        owner: str | None = None,
        limit: int = 100,
        stop: Callable[[], bool] | None = None,
    ) -> list[Delivery]:
        """Make the attempts due now, one claim at a time, until none is due, `limit` were
        made or `stop()` says so; the deliveries as each attempt left them."""
        owner = owner or sender_id()
        made: list[Delivery] = []
        while len(made) < limit and not (stop is not None and stop()):
            done = self.attempt(owner)
            if done is None:
                break
            made.append(done)
        return made

    def next_due(self) -> float | None:
        """Seconds until the earliest pending attempt is due (0 if it is), or None."""
        with self.store.read() as tx:
            due = tx.notifications.next_due()
        return None if due is None else max(0.0, (due - utcnow()).total_seconds())

    def attempt(
        self, owner: str, delivery_id: str | None = None, timeout: float | None = None
    ) -> Delivery | None:
        """Claim the next attempt of a due delivery (this one, or the longest due), make it and
        record it; None when nothing was due (or another sender holds it)."""
        now = utcnow()
        with self.store.write() as tx:
            claim = tx.notifications.claim(
                owner, now, now + timedelta(seconds=self.lease), delivery_id
            )
        if claim is None:
            return None
        try:
            secret = self._open(claim.webhook_id, claim.stored_secret)
        except IntegrityError as exc:  # no key at hand opens it: wait for a process that has it
            log.error("webhook delivery %s not sent: %s", claim.delivery_id, exc.message)
            with self.store.write() as tx:
                later = utcnow() + timedelta(seconds=self.lease)
                tx.notifications.postpone(claim, exc.message, utcnow(), later)
                return tx.notifications.get_delivery(claim.delivery_id)
        result = post(
            claim.url, claim.event, secret=secret, delivery_id=claim.delivery_id,
            number=claim.number, attempts=self.attempts, timeout=timeout or self.timeout,
        )  # fmt: skip
        if result.delivered:
            status, next_at = DeliveryStatus.DELIVERED, None
        elif result.final:
            status, next_at = DeliveryStatus.FAILED, None
        else:
            status = DeliveryStatus.PENDING
            next_at = utcnow() + timedelta(seconds=retry_delay(claim.number, self.backoff))
        with self.store.write() as tx:
            tx.notifications.finish_attempt(
                claim, status=status, status_code=result.status_code, error=result.error,
                now=utcnow(), next_attempt_at=next_at,
            )  # fmt: skip
            return tx.notifications.get_delivery(claim.delivery_id)

    # signing secrets at rest ----------------------------------------------------------------
    def _box(self) -> SecretBox:
        if self.box is None:
            raise RelayError(
                "this Relay process has no key to seal webhook secrets with; open the services "
                "with one (RELAY_SECRET_KEY, or the secret.keys file under RELAY_HOME that "
                "`relay server` and the CLI create): docs/webhooks.md"
            )
        return self.box

    def _open(self, webhook_id: str, stored: str) -> str:
        """The webhook's secret; one stored in an older form (in clear by a Relay before
        sealing, or v1) is sealed as v2 now."""
        if self.box is None:
            raise IntegrityError(
                f"webhook {webhook_id}'s signing secret cannot be opened: this process has no "
                "secret key; give it the key the others use (RELAY_SECRET_KEY or the "
                "secret.keys file), as docs/webhooks.md says. Nothing was sent unsigned."
            )
        secret = self.box.open(stored, webhook_id)
        # (a rotated-out key's v2 values are resealed by `reseal`, at a dispatcher's start,
        # not here: replicas configured OLD,NEW and NEW,OLD would reseal each other's forever)
        if not is_current_format(stored):
            with self.store.write() as tx:
                tx.notifications.replace_secret(
                    webhook_id, stored, self.box.seal(secret, webhook_id)
                )
        return secret

    def reseal(self) -> tuple[int, list[str]]:
        """Seal as v2 with the current key every secret stored in clear, sealed as v1 or
        sealed with an older key (after an older Relay, or a key rotation); how many were
        resealed, and the errors of those no key at hand opens (left as they are)."""
        if self.box is None:
            return 0, []
        box = self.box
        with self.store.read() as tx:
            stale = [(i, v) for i, v in tx.notifications.stored_secrets() if not box.is_current(v)]
        done, errors = 0, []
        for webhook_id, stored in stale:
            try:
                secret = box.open(stored, webhook_id)
            except IntegrityError as exc:
                errors.append(exc.message)
                continue
            with self.store.write() as tx:
                done += tx.notifications.replace_secret(
                    webhook_id, stored, box.seal(secret, webhook_id)
                )
        return done, errors
