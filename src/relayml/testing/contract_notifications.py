"""The backend contract for notifications: a project's webhooks and their deliveries.

Deliveries themselves (signing, retries, records) are exercised against a real receiver in
tests/notifications and tests/api/test_webhooks.py; this checks configuring them, the same way
on every backend.
"""

from __future__ import annotations

import pytest

from relayml.domain.notifications import DeliveryStatus
from relayml.domain.pipelines import StepSpec
from relayml.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from relayml.testing.contract import ContractEnv

URL = "https://hooks.example.com/relay"
REFUSED = "http://127.0.0.1:9/relay"  # the discard port on loopback: refused at once


class NotificationContract:
    def test_webhooks_are_added_listed_and_removed(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        mlops = contract.as_role(p, "mlops_engineer")
        added = mlops.notifications.add_webhook(p, URL)
        assert added.secret.startswith("whsec_")
        assert added.webhook.url == URL and added.webhook.project == p
        assert mlops.notifications.list_webhooks(p) == [added.webhook]
        assert mlops.notifications.deliveries(p) == []
        assert mlops.notifications.deliveries(p, added.webhook.id, limit=5) == []
        mlops.notifications.remove_webhook(p, added.webhook.id)
        assert mlops.notifications.list_webhooks(p) == []
        with pytest.raises(NotFound):
            mlops.notifications.remove_webhook(p, added.webhook.id)

    def test_webhook_input_and_permissions(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        with pytest.raises(InvalidInput, match="http"):
            contract.admin.notifications.add_webhook(p, "javascript:alert(1)")
        with pytest.raises(InvalidInput):
            contract.admin.notifications.remove_webhook(p, "../etc")
        with pytest.raises(InvalidInput, match="limit"):
            contract.admin.notifications.deliveries(p, limit=0)
        scientist = contract.as_role(p, "data_scientist")
        with pytest.raises(PermissionDenied):
            scientist.notifications.add_webhook(p, URL)
        with pytest.raises(PermissionDenied):
            scientist.notifications.list_webhooks(p)
        with pytest.raises(NotFound):
            contract.admin.notifications.list_webhooks(f"{p}-missing")

    def test_a_delivery_is_sent_again_on_request(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        mlops = contract.as_role(p, "mlops_engineer")
        hook = mlops.notifications.add_webhook(p, REFUSED).webhook
        steps = [StepSpec("extract", ())]
        contract.admin.pipelines.register(p, "nightly", module="m:f", steps=steps)
        run = contract.admin.pipelines.start_run(p, "nightly", steps=steps)
        contract.admin.pipelines.finish_run(run.id, "failed", "extract: boom")
        (first,) = mlops.notifications.deliveries(p)
        again = mlops.notifications.redeliver(p, first.id)
        assert again.id == first.id and again.webhook_id == hook.id
        assert again.status is DeliveryStatus.PENDING and again.attempts <= 1
        assert again.delivered_at is None
        with pytest.raises(PermissionDenied):
            contract.as_role(p, "ml_engineer").notifications.redeliver(p, first.id)
        with pytest.raises(NotFound):
            mlops.notifications.redeliver(p, "0" * 32)
        with pytest.raises(NotFound):  # another project's delivery is not this one's
            contract.admin.notifications.redeliver(contract.new_project(), first.id)
        with pytest.raises(InvalidInput):
            mlops.notifications.redeliver(p, "../x")
        mlops.notifications.remove_webhook(p, hook.id)
        with pytest.raises(Conflict, match="removed"):
            mlops.notifications.redeliver(p, first.id)
