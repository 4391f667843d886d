"""`NotificationsApi` over REST: a project's webhooks and their deliveries."""

from __future__ import annotations

from relayml.client.http.transport import HttpTransport, seg
from relayml.client.http.urls import project_url
from relayml.domain.notifications import (
    Delivery,
    IssuedWebhook,
    Webhook,
    check_delivery_id,
    check_webhook_id,
)
from relayml.wire.notifications import DeliveryOut, WebhookCreatedOut, WebhookOut


class HttpNotifications:
    def __init__(self, transport: HttpTransport) -> None:
        self.t = transport

    def add_webhook(self, project: str, url: str) -> IssuedWebhook:
        found = self.t.call("POST", f"{project_url(project)}/webhooks", json={"url": url})
        return WebhookCreatedOut.model_validate(found).to_domain()

    def list_webhooks(self, project: str) -> list[Webhook]:
        rows = self.t.call("GET", f"{project_url(project)}/webhooks")
        return [WebhookOut.model_validate(r).to_domain() for r in rows]

    def remove_webhook(self, project: str, webhook_id: str) -> None:
        hook = seg(check_webhook_id(webhook_id))
        self.t.call("DELETE", f"{project_url(project)}/webhooks/{hook}")

    def deliveries(
        self, project: str, webhook_id: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        params = {"webhook": webhook_id, "limit": limit}
        rows = self.t.call("GET", f"{project_url(project)}/webhook-deliveries", params=params)
        return [DeliveryOut.model_validate(r).to_domain() for r in rows]

    def redeliver(self, project: str, delivery_id: str) -> Delivery:
        path = f"{project_url(project)}/webhook-deliveries/{seg(check_delivery_id(delivery_id))}"
        found = self.t.call("POST", f"{path}/redeliver")
        return DeliveryOut.model_validate(found).to_domain()
