"""Notifications on the wire: a project's webhooks and their deliveries."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

from pydantic import Field

from relayml.domain.notifications import Delivery, DeliveryStatus, IssuedWebhook, Webhook
from relayml.wire.common import WireModel


class WebhookOut(WireModel):
    id: str
    project: str
    url: str
    created_at: datetime
    created_by: str

    @classmethod
    def from_domain(cls, obj: Webhook) -> WebhookOut:
        return cls(
            id=obj.id,
            project=obj.project,
            url=obj.url,
            created_at=obj.created_at,
            created_by=obj.created_by,
        )

    def to_domain(self) -> Webhook:
        return Webhook(self.id, self.project, self.url, self.created_at, self.created_by)


class WebhookCreatedOut(WireModel):
    webhook: WebhookOut
    secret: str = Field(description="Signs every delivery; shown this once, store it now.")

    @classmethod
    def from_domain(cls, obj: IssuedWebhook) -> WebhookCreatedOut:
        return cls(webhook=WebhookOut.from_domain(obj.webhook), secret=obj.secret)

    def to_domain(self) -> IssuedWebhook:
        return IssuedWebhook(self.webhook.to_domain(), self.secret)


class DeliveryOut(WireModel):
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
    next_attempt_at: datetime | None = Field(
        default=None, description="When the next attempt is due; null once delivered or failed."
    )

    @classmethod
    def from_domain(cls, obj: Delivery) -> DeliveryOut:
        return cls(**{f.name: getattr(obj, f.name) for f in fields(obj)})

    def to_domain(self) -> Delivery:
        return Delivery(**dict(self))
