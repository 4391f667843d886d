"""The `notifications` area's client protocol, `NotificationsApi`: what both backends implement (the
services bound in-process by `client.local`, REST in `client/http/notifications.py`)."""

from __future__ import annotations

from typing import Protocol

from relayml.domain.notifications import Delivery, IssuedWebhook, Webhook


class NotificationsApi(Protocol):
    """`services.notifications`: a project's webhooks and what was delivered to them."""

    def add_webhook(self, project: str, url: str) -> IssuedWebhook: ...
    def list_webhooks(self, project: str) -> list[Webhook]: ...
    def remove_webhook(self, project: str, webhook_id: str) -> None: ...
    def deliveries(
        self, project: str, webhook_id: str | None = None, limit: int = 100
    ) -> list[Delivery]: ...
    def redeliver(self, project: str, delivery_id: str) -> Delivery: ...
