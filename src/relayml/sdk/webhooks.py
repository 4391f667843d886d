"""A project's webhooks as the SDK user sees them:
`relay.webhooks.add/list/remove/deliveries/redeliver`."""

from __future__ import annotations

from relayml.domain.notifications import Delivery, IssuedWebhook, Webhook
from relayml.sdk import session as _session


def add(url: str, *, project: str | None = None) -> IssuedWebhook:
    """Send the project's events to ``url``, signed. The result's ``secret`` is shown this
    once: give it to the receiver, which checks each delivery's ``Relay-Signature`` with it."""
    sess = _session.current()
    return sess.backend.notifications.add_webhook(project or sess.project, url)


def list_webhooks(*, project: str | None = None) -> list[Webhook]:
    sess = _session.current()
    return sess.backend.notifications.list_webhooks(project or sess.project)


def remove(webhook_id: str, *, project: str | None = None) -> None:
    """Stop delivering to a webhook (its past deliveries stay on record)."""
    sess = _session.current()
    sess.backend.notifications.remove_webhook(project or sess.project, webhook_id)


def deliveries(
    webhook_id: str | None = None, *, project: str | None = None, limit: int = 100
) -> list[Delivery]:
    """Deliveries to the project's webhooks (or one of them), most recently updated first."""
    sess = _session.current()
    return sess.backend.notifications.deliveries(project or sess.project, webhook_id, limit)


def redeliver(delivery_id: str, *, project: str | None = None) -> Delivery:
    """Send a delivery again now, with a new series of attempts under the same delivery id."""
    sess = _session.current()
    return sess.backend.notifications.redeliver(project or sess.project, delivery_id)
