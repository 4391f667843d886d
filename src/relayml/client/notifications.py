"""The `notifications` area's client protocol, `NotificationsApi`: what both backends implement (the
services bound in-process by `client.local`, REST in `client/http/notifications.py`)."""

from __future__ import annotations

from relayml.client.ops import op
from relayml.services.notifications import NotificationService


class NotificationsApi:
    """`services.notifications`: a project's webhooks and what was delivered to them."""

    add_webhook = op(NotificationService.add_webhook)
    list_webhooks = op(NotificationService.list_webhooks)
    remove_webhook = op(NotificationService.remove_webhook)
    deliveries = op(NotificationService.deliveries)
    redeliver = op(NotificationService.redeliver)
