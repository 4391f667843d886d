"""Webhooks, events and webhook deliveries in SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, or_, select, update

from relayml.domain.notifications import (
    Claim,
    Delivery,
    DeliveryStatus,
    Event,
    EventKind,
    Webhook,
)
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
        next_attempt_at=utc_or_none(row.next_attempt_at),
    )


def _event(row: Any) -> Event:
    return Event(
        EventKind(row.kind), row.project, row.subject, dict(row.payload), utc(row.time),
        text=row.text, id=row.id,
    )  # fmt: skip


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

    def live_webhooks(self, project: str) -> list[Webhook]:
        """The project's webhooks that receive its events."""
        q = select(s.webhooks).where(_w.project == project, _w.removed_at.is_(None))
        return [_webhook(r) for r in self.conn.execute(q.order_by(_w.id))]

    def stored_secrets(self) -> list[tuple[str, str]]:
        """Every webhook's id and secret as stored (sealed), removed ones too."""
        q = select(_w.id, _w.secret).order_by(_w.id)
        return [(r.id, r.secret) for r in self.conn.execute(q)]

    def replace_secret(self, webhook_id: str, stored: str, new: str) -> bool:
        """Store `new` in place of `stored` (only if it is still that: two processes resealing
        at once leave one value)."""
        done = self.conn.execute(
            update(s.webhooks).where(_w.id == webhook_id, _w.secret == stored).values(secret=new)
        )
        return bool(done.rowcount)

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
                next_attempt_at=now,
            )
        )  # fmt: skip

    def claim(
        self, owner: str, now: datetime, lease_until: datetime, delivery_id: str | None = None
    ) -> Claim | None:
        """Take the next attempt of one due delivery (the one named, or the longest due) for
        `owner` until `lease_until`, or None when none is due. The UPDATE is conditional on the
        attempt count and lease read, so of two senders racing for one attempt one wins; on
        PostgreSQL rows another sender holds are skipped rather than waited for."""
        due = (
            _d.status == DeliveryStatus.PENDING.value,
            _d.next_attempt_at <= now,
            or_(_d.lease_until.is_(None), _d.lease_until < now),
        )
        q = select(_d.id, _d.attempts, _d.lease_until).where(*due)
        if delivery_id is not None:
            q = q.where(_d.id == delivery_id)
        q = q.order_by(_d.next_attempt_at, _d.id).limit(1)
        if self.conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        row = self.conn.execute(q).first()
        if row is None:
            return None
        number = int(row.attempts) + 1
        won = self.conn.execute(
            update(s.webhook_deliveries)
            .where(_d.id == row.id, _d.attempts == row.attempts, *due)
            .values(attempts=number, lease_owner=owner, lease_until=lease_until)
        ).rowcount
        if not won:
            return None
        found = self.conn.execute(
            select(
                _d.webhook_id, _w.url, _w.secret, s.events.c.id, s.events.c.kind,
                s.events.c.project, s.events.c.subject, s.events.c.payload, s.events.c.text,
                s.events.c.time,
            )
            .join(s.webhooks, _w.id == _d.webhook_id)
            .join(s.events, s.events.c.id == _d.event_id)
            .where(_d.id == row.id)
        ).one()  # fmt: skip
        return Claim(
            row.id, found.webhook_id, found.url, found.secret, _event(found), number, owner,
            lease_until, expired_lease=row.lease_until is not None,
        )  # fmt: skip

    def finish_attempt(
        self,
        claim: Claim,
        *,
        status: DeliveryStatus,
        status_code: int | None,
        error: str | None,
        now: datetime,
        next_attempt_at: datetime | None,
    ) -> bool:
        """Record the claimed attempt's result, if the claim still holds (a sender whose lease
        ran out and was taken over records nothing; a delivery is recorded whoever made it)."""
        q = update(s.webhook_deliveries).where(
            _d.id == claim.delivery_id, _d.status == DeliveryStatus.PENDING.value
        )
        if status is not DeliveryStatus.DELIVERED:
            q = q.where(_d.lease_owner == claim.owner, _d.attempts == claim.number)
        done = self.conn.execute(
            q.values(
                status=status.value, last_status_code=status_code, last_error=error,
                updated_at=now, delivered_at=now if status is DeliveryStatus.DELIVERED else None,
                next_attempt_at=next_attempt_at, lease_until=None, lease_owner=None,
            )
        )  # fmt: skip
        return bool(done.rowcount)

    def postpone(self, claim: Claim, error: str, now: datetime, until: datetime) -> None:
        """Give the claimed attempt back unmade (its number unused), due again `until`."""
        self.conn.execute(
            update(s.webhook_deliveries)
            .where(_d.id == claim.delivery_id, _d.lease_owner == claim.owner)
            .values(
                attempts=claim.number - 1, last_error=error, updated_at=now,
                next_attempt_at=until, lease_until=None, lease_owner=None,
            )
        )  # fmt: skip

    def requeue(self, delivery_id: str, now: datetime) -> None:
        """Make the delivery pending and due now, with a new series of attempts (an attempt
        under way keeps running, but its result is no longer recorded)."""
        self.conn.execute(
            update(s.webhook_deliveries)
            .where(_d.id == delivery_id)
            .values(
                status=DeliveryStatus.PENDING.value, attempts=0, delivered_at=None,
                updated_at=now, next_attempt_at=now, lease_until=None, lease_owner=None,
            )
        )  # fmt: skip

    def delivery_in(self, project: str, delivery_id: str) -> tuple[Delivery, bool] | None:
        """The project's delivery, and whether its webhook was removed; None if it has none
        by that id."""
        row = self.conn.execute(
            _DELIVERIES.add_columns(_w.removed_at)
            .join(s.webhooks, _w.id == _d.webhook_id)
            .where(_d.id == delivery_id, _w.project == project)
        ).first()
        return (_delivery(row), row.removed_at is not None) if row else None

    def next_due(self) -> datetime | None:
        """When the earliest pending attempt is due (leased ones included), or None."""
        found = self.conn.execute(
            select(_d.next_attempt_at, _d.lease_until)
            .where(_d.status == DeliveryStatus.PENDING.value)
            .order_by(_d.next_attempt_at)
            .limit(1)
        ).first()
        if found is None or found.next_attempt_at is None:
            return None
        due = utc(found.next_attempt_at)
        return max(due, utc(found.lease_until)) if found.lease_until is not None else due

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
