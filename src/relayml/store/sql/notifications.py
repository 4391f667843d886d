"""Webhooks, events and webhook deliveries in SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from relayml.domain.notifications import Delivery, DeliveryStatus, Event, Webhook
from relayml.store.sql import schema as s
from relayml.store.sql._util import utc, utc_or_none

_w = s.webhooks.c
_d = s.webhook_deliveries.c


def _webhook(row: Row[Any]) -> Webhook:
    return Webhook(row.id, row.project, row.url, utc(row.created_at), row.created_by)


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        webhook_id=row.webhook_id,
        event_id=row.event_id,
        event_kind=row.kind,
        status=DeliveryStatus(row.status),
        attempts=int(row.attempts),
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        delivered_at=utc_or_none(row.delivered_at),
        updated_at=utc(row.updated_at),
    )


_DELIVERIES = select(s.webhook_deliveries, s.events.c.kind).join(
    s.events, s.events.c.id == _d.event_id
)


class SqlNotifications:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_webhook(self, hook: Webhook, secret: str) -> None:
        self.conn.execute(
            s.webhooks.insert().values(
                id=hook.id, project=hook.project, url=hook.url, secret=secret,
                created_at=hook.created_at, created_by=hook.created_by,
            )
        )  # fmt: skip

    def webhooks(self, project: str) -> list[Webhook]:
        q = select(s.webhooks).where(_w.project == project, _w.removed_at.is_(None))
        return [_webhook(r) for r in self.conn.execute(q.order_by(_w.created_at, _w.id))]

    def signing_targets(self, project: str) -> list[tuple[Webhook, str]]:
        """The project's live webhooks with their secrets (for delivery only)."""
        q = select(s.webhooks).where(_w.project == project, _w.removed_at.is_(None))
        return [(_webhook(r), r.secret) for r in self.conn.execute(q.order_by(_w.id))]

    def secret(self, webhook_id: str) -> str | None:
        found = self.conn.execute(select(_w.secret).where(_w.id == webhook_id)).scalar()
        return str(found) if found is not None else None

    def remove_webhook(self, project: str, webhook_id: str, now: datetime) -> bool:
        done = self.conn.execute(
            update(s.webhooks)
            .where(_w.id == webhook_id, _w.project == project, _w.removed_at.is_(None))
            .values(removed_at=now)
        )
        return bool(done.rowcount)

    def add_event(self, event: Event) -> None:
        self.conn.execute(
            s.events.insert().values(
                id=event.id, kind=event.kind.value, project=event.project,
                subject=event.subject, payload=event.payload, text=event.text, time=event.time,
            )
        )  # fmt: skip

    def add_delivery(self, delivery_id: str, webhook_id: str, event_id: str, now: datetime) -> None:
        self.conn.execute(
            s.webhook_deliveries.insert().values(
                id=delivery_id, webhook_id=webhook_id, event_id=event_id,
                status=DeliveryStatus.PENDING.value, attempts=0, updated_at=now,
            )
        )  # fmt: skip

    def record_attempt(
        self,
        delivery_id: str,
        *,
        attempts: int,
        status: DeliveryStatus,
        status_code: int | None,
        error: str | None,
        now: datetime,
    ) -> None:
        self.conn.execute(
            update(s.webhook_deliveries)
            .where(_d.id == delivery_id)
            .values(
                attempts=attempts, status=status.value, last_status_code=status_code,
                last_error=error, updated_at=now,
                delivered_at=now if status is DeliveryStatus.DELIVERED else None,
            )
        )  # fmt: skip

    def deliveries(
        self, project: str, webhook_id: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        q = _DELIVERIES.join(s.webhooks, s.webhooks.c.id == _d.webhook_id).where(
            _w.project == project
        )
        if webhook_id is not None:
            q = q.where(_d.webhook_id == webhook_id)
        q = q.order_by(_d.updated_at.desc(), _d.id).limit(limit)
        return [_delivery(r) for r in self.conn.execute(q)]

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        row = self.conn.execute(_DELIVERIES.where(_d.id == delivery_id)).first()
        return _delivery(row) if row else None
