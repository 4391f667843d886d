"""Project webhooks: signed, retried, recorded deliveries of platform events (on loopback)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from relayml.domain.identity import Principal
from relayml.domain.notifications import Delivery, DeliveryStatus, Event, EventKind
from relayml.domain.pipelines import StepSpec
from relayml.errors import InvalidInput, NotFound, PermissionDenied
from relayml.notifications import verify
from relayml.services import Services

from .conftest import OLGA, SAM, Receiver, drain


def _event(project: str = "shop") -> Event:
    return Event(
        EventKind.PIPELINE_RUN_FAILED,
        project,
        f"pipeline:{project}/nightly",
        {"run_id": "r1", "error": "boom"},
        datetime(2026, 12, 1, 3, 0, tzinfo=UTC),
        text="nightly failed",
    )


def _publish(services: Services, event: Event) -> list[Delivery]:
    """Record `event` as a service does and dispatch it (here: its first attempt inline)."""
    with services.store.write() as tx:
        pending = services.notifications.enqueue(tx, event)
    services.notifications.dispatch(pending)
    return services.notifications.deliveries(OLGA, event.project)


def test_a_delivery_is_signed_with_the_webhooks_secret(
    services: Services, receiver: Receiver
) -> None:
    added = services.notifications.add_webhook(OLGA, "shop", receiver.url)
    hook, secret = added.webhook, added.secret
    assert secret.startswith("whsec_") and len(secret) > 40
    (delivery,) = _publish(services, _event())

    (request,) = receiver.requests
    headers, body = request
    assert receiver.signature_ok(secret)
    assert verify(secret, headers["relay-signature"], body)
    assert not verify("whsec_other", headers["relay-signature"], body)
    assert not verify(secret, headers["relay-signature"], body + b" ")
    stale = time.time() + 600  # replayed ten minutes later: refused
    assert not verify(secret, headers["relay-signature"], body, now=stale)
    doc = json.loads(body)
    assert doc["kind"] == "pipeline_run.failed" and doc["project"] == "shop"
    assert doc["payload"] == {"run_id": "r1", "error": "boom"}
    assert headers["relay-event"] == "pipeline_run.failed"
    assert headers["relay-delivery"] == delivery.id and headers["relay-attempt"] == "1"
    assert delivery.webhook_id == hook.id


def test_a_receiver_failing_twice_gets_three_attempts_recorded(
    services: Services, receiver: Receiver
) -> None:
    secret = services.notifications.add_webhook(OLGA, "shop", receiver.url).secret
    receiver.fail_first = 2
    (first,) = _publish(services, _event())
    assert first.status is DeliveryStatus.PENDING and first.attempts == 1
    assert first.last_status_code == 503 and first.next_attempt_at is not None
    drain(services)  # the retries, as the dispatcher makes them when they are due
    assert len(receiver.requests) == 3
    assert receiver.attempts() == [(first.id, 1), (first.id, 2), (first.id, 3)]
    (d,) = services.notifications.deliveries(OLGA, "shop")
    assert d.status is DeliveryStatus.DELIVERED
    assert d.attempts == 3 and d.last_status_code == 204 and d.last_error is None
    assert d.delivered_at is not None and d.event_kind == "pipeline_run.failed"
    # each attempt was signed afresh
    assert all(receiver.signature_ok(secret, i) for i in range(3))


def test_a_dead_receiver_ends_failed_after_the_last_attempt(
    services: Services, dead_url: str
) -> None:
    services.notifications.add_webhook(OLGA, "shop", dead_url)
    _publish(services, _event())
    drain(services)
    (d,) = services.notifications.deliveries(OLGA, "shop")
    assert d.status is DeliveryStatus.FAILED
    assert d.attempts == services.notifications.attempts == 4
    assert d.last_status_code is None and d.delivered_at is None
    assert d.last_error is not None and "ConnectError" in d.last_error
    assert d.next_attempt_at is None


def test_a_failed_pipeline_run_is_an_event_to_the_projects_webhooks(
    services: Services, receiver: Receiver
) -> None:
    secret = services.notifications.add_webhook(OLGA, "shop", receiver.url).secret
    admin = Principal("admin")
    steps = [StepSpec("extract", ())]
    services.pipelines.register(admin, "shop", "nightly", module="m:f", steps=steps)
    run = services.pipelines.start_run(admin, "shop", "nightly", steps=steps)
    services.pipelines.finish_run(admin, run.id, "failed", "extract: ValueError: boom")

    (request,) = receiver.requests
    doc = json.loads(request[1])
    assert receiver.signature_ok(secret)
    assert doc["kind"] == "pipeline_run.failed"
    assert doc["subject"] == "pipeline:shop/nightly"
    assert doc["payload"]["run_id"] == run.id and "boom" in doc["payload"]["error"]
    (d,) = services.notifications.deliveries(OLGA, "shop")
    assert d.status is DeliveryStatus.DELIVERED and d.attempts == 1


def test_webhooks_are_configured_by_the_platform_roles_only_and_audited(
    services: Services, receiver: Receiver
) -> None:
    with pytest.raises(PermissionDenied, match=r"webhook\.manage"):
        services.notifications.add_webhook(SAM, "shop", receiver.url)
    with pytest.raises(InvalidInput, match="http"):
        services.notifications.add_webhook(OLGA, "shop", "file:///etc/passwd")
    added = services.notifications.add_webhook(OLGA, "shop", receiver.url)
    hook, secret = added.webhook, added.secret
    (listed,) = services.notifications.list_webhooks(OLGA, "shop")
    assert listed == hook and secret not in repr(listed)
    with pytest.raises(PermissionDenied, match=r"webhook\.read"):
        services.notifications.list_webhooks(SAM, "shop")
    with pytest.raises(PermissionDenied):
        services.notifications.remove_webhook(SAM, "shop", hook.id)
    services.notifications.remove_webhook(OLGA, "shop", hook.id)
    with pytest.raises(NotFound):
        services.notifications.remove_webhook(OLGA, "shop", hook.id)
    assert services.notifications.list_webhooks(OLGA, "shop") == []
    _publish(services, _event())
    assert receiver.requests == []  # a removed webhook receives nothing
    trail = services.audit.log(Principal("admin"), project="shop", entity_kind="webhook")
    assert sorted(e.action for e in trail if e.outcome == "ok") == ["webhook.add", "webhook.remove"]
    assert any(e.outcome == "denied" and e.actor == "sam" for e in trail)


def test_a_failed_delivery_is_sent_again_on_request_under_its_own_id(
    services: Services, receiver: Receiver
) -> None:
    secret = services.notifications.add_webhook(OLGA, "shop", receiver.url).secret
    receiver.fail_first = 4  # every attempt of the first series fails: the receiver is down
    _publish(services, _event())
    drain(services)
    (failed,) = services.notifications.deliveries(OLGA, "shop")
    assert failed.status is DeliveryStatus.FAILED and failed.attempts == 4
    with pytest.raises(PermissionDenied, match=r"webhook\.manage"):
        services.notifications.redeliver(SAM, "shop", failed.id)

    again = services.notifications.redeliver(OLGA, "shop", failed.id)  # the receiver is back
    assert again.status is DeliveryStatus.DELIVERED and again.attempts == 1
    assert receiver.attempts()[-1] == (failed.id, 1)  # a new series, the same delivery id
    assert receiver.signature_ok(secret)
    trail = services.audit.log(Principal("admin"), project="shop", entity_kind="webhook")
    (event,) = [e for e in trail if e.action == "webhook.redeliver" and e.outcome == "ok"]
    assert event.actor == "olga" and event.entity_id == failed.webhook_id
