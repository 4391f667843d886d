"""Webhooks over REST against a real server: role-checked, the secret shown once, a failed
pipeline run delivered signed (by the server's dispatcher) to a receiver on 127.0.0.1 and its
delivery recorded."""

from __future__ import annotations

import json

import httpx

from relayml.client.http import HttpBackend
from relayml.domain.notifications import DeliveryStatus
from relayml.domain.pipelines import StepSpec
from relayml.testing.server import ServerInfo
from tests.api.conftest import error_of, user_client
from tests.notifications.conftest import Receiver, eventually, receiver  # noqa: F401


def test_webhooks_over_rest(
    server: ServerInfo,
    admin: httpx.Client,
    backend: HttpBackend,
    project: str,
    receiver: Receiver,  # noqa: F811
) -> None:
    hooks = f"/api/v1/projects/{project}/webhooks"
    with user_client(server, admin, "data_scientist", project) as scientist:
        refused = scientist.post(hooks, json={"url": receiver.url})
    assert refused.status_code == 403
    assert "webhook.manage" in str(error_of(refused))

    with user_client(server, admin, "mlops_engineer", project) as mlops:
        r = mlops.post(hooks, json={"url": receiver.url})
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        hook_id = r.json()["webhook"]["id"]
        listed = mlops.get(hooks)
        assert [h["id"] for h in listed.json()] == [hook_id] and secret not in listed.text
        bad = mlops.post(hooks, json={"url": "ftp://x"})
        assert bad.status_code == 400

    steps = [StepSpec("extract", ())]
    backend.pipelines.register(project, "nightly", module="m:f", steps=steps)
    run = backend.pipelines.start_run(project, "nightly", steps=steps)
    backend.pipelines.finish_run(run.id, "failed", "extract: boom")

    # the server's dispatcher sends it in the background, woken by the event
    eventually(lambda: backend.notifications.deliveries(project)[0].delivered_at is not None)
    (request,) = receiver.requests
    assert receiver.signature_ok(secret)
    assert json.loads(request[1])["payload"]["run_id"] == run.id
    (delivery,) = backend.notifications.deliveries(project)
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert delivery.webhook_id == hook_id and delivery.last_status_code == 204

    (hook,) = backend.notifications.list_webhooks(project)
    backend.notifications.remove_webhook(project, hook.id)
    assert backend.notifications.list_webhooks(project) == []
