"""The `notifications` area's operations, `NotificationsApi`: each one its service
method (`op`, `client/ops.py`), bound in-process by `client.local` and sent by its route
in `client/http/notifications.py`."""

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
