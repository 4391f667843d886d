"""The webhook half of the http backend, mixed into `HttpBackend`."""

from __future__ import annotations

from relayml.client.http_transport import HttpTransport
from relayml.client.http_transport import seg as _seg
from relayml.domain.identity import check_name
from relayml.domain.notifications import Delivery, IssuedWebhook, Webhook, check_webhook_id
from relayml.wire import DeliveryOut, WebhookCreated, WebhookOut


def _base(project: str) -> str:
    return f"/api/v1/projects/{_seg(check_name('project', project))}"


class HttpWebhooks(HttpTransport):
    def add_webhook(self, project: str, url: str) -> IssuedWebhook:
        found = self._call("POST", f"{_base(project)}/webhooks", json={"url": url})
        return WebhookCreated.model_validate(found).domain()

    def list_webhooks(self, project: str) -> list[Webhook]:
        rows = self._call("GET", f"{_base(project)}/webhooks")
        return [WebhookOut.model_validate(r).domain() for r in rows]

    def remove_webhook(self, project: str, webhook_id: str) -> None:
        hook = _seg(check_webhook_id(webhook_id))
        self._call("DELETE", f"{_base(project)}/webhooks/{hook}")

    def webhook_deliveries(
        self, project: str, webhook_id: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        params = {"webhook": webhook_id, "limit": limit}
        rows = self._call("GET", f"{_base(project)}/webhook-deliveries", params=params)
        return [DeliveryOut.model_validate(r).domain() for r in rows]
