"""`relay webhooks add|ls|rm|deliveries|redeliver|deliver` and `relay.webhooks` (embedded)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relayml.sdk import session
from tests.cli.conftest import Relay, admin_backend
from tests.notifications.conftest import Receiver, receiver  # noqa: F401


def test_cli_adds_lists_and_removes_webhooks(relay: Relay) -> None:
    added = relay("webhooks", "add", "https://hooks.example.com/relay")
    assert added.code == 0, added.err
    (secret,) = [line for line in added.out.splitlines() if line.startswith("whsec_")]
    listed = relay("webhooks", "ls", "--json")
    assert listed.code == 0, listed.err
    (hook,) = listed.json()
    assert hook["url"] == "https://hooks.example.com/relay" and secret not in listed.out
    bad = relay("webhooks", "add", "not a url")
    assert bad.code == 2 and "http(s)" in bad.err
    assert relay("webhooks", "deliveries", "--json").json() == []
    assert relay("webhooks", "rm", hook["id"]).code == 0
    assert relay("webhooks", "ls", "--json").json() == []
    assert relay("webhooks", "rm", hook["id"]).code == 5  # not found


def test_sdk_webhooks_record_deliveries(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    receiver: Receiver,  # noqa: F811
) -> None:
    for var in ("RELAY_DATABASE_URL", "RELAY_ARTIFACT_URI", "RELAY_SERVER_URL", "RELAY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RELAY_HOME", str(tmp_path / ".relay"))
    monkeypatch.setenv("RELAY_USER", "admin")
    session.reset()
    import relayml as relay
    from relayml.domain.pipelines import StepSpec

    relay.init(project="shop")
    added = relay.webhooks.add(receiver.url)
    assert [h.id for h in relay.webhooks.list()] == [added.webhook.id]
    backend = session.current().backend
    steps = [StepSpec("extract", ())]
    backend.pipelines.register("shop", "nightly", module="m:f", steps=steps)
    run = backend.pipelines.start_run("shop", "nightly", steps=steps)
    backend.pipelines.finish_run(run.id, "failed", "extract: boom")
    assert receiver.signature_ok(added.secret)
    assert json.loads(receiver.requests[0][1])["subject"] == "pipeline:shop/nightly"
    (d,) = relay.webhooks.deliveries()
    assert d.status.value == "delivered" and d.attempts == 1
    relay.webhooks.remove(added.webhook.id)
    assert relay.webhooks.list() == []


def test_relay_webhooks_deliver_makes_the_retries_that_are_due_and_redeliver_replays(
    relay: Relay,
    monkeypatch: pytest.MonkeyPatch,
    receiver: Receiver,  # noqa: F811
) -> None:
    from relayml.domain.pipelines import StepSpec
    from relayml.services.notifications import NotificationService

    monkeypatch.setattr(NotificationService, "backoff", 0.01)  # the retry is due at once
    receiver.fail_first = 1
    with admin_backend(relay.home) as backend:
        backend.identity.ensure_project("shop")
        added = backend.notifications.add_webhook("shop", receiver.url)
        steps = [StepSpec("extract", ())]
        backend.pipelines.register("shop", "nightly", module="m:f", steps=steps)
        run = backend.pipelines.start_run("shop", "nightly", steps=steps)
        backend.pipelines.finish_run(run.id, "failed", "extract: boom")  # one attempt: 503
        (first,) = backend.notifications.deliveries("shop")
    assert first.status.value == "pending" and first.last_status_code == 503

    made = relay("webhooks", "deliver", "--json")  # a process of its own, with no knobs
    assert made.code == 0, made.err
    (d,) = made.json()
    assert d["id"] == first.id and d["status"] == "delivered" and d["attempts"] == 2
    assert receiver.attempts() == [(first.id, 1), (first.id, 2)]
    assert receiver.signature_ok(added.secret)
    again = relay("webhooks", "deliver")
    assert again.code == 0 and "no delivery attempt was due" in again.out
    replay = relay("webhooks", "redeliver", first.id, "--project", "shop", "--json")
    assert replay.code == 0, replay.err
    assert replay.json()["status"] == "delivered" and replay.json()["attempts"] == 1
    assert receiver.attempts()[-1] == (first.id, 1)  # a new series under the same id
    assert relay("webhooks", "redeliver", "0" * 32, "--project", "shop").code == 5
