"""The backend contract for webhooks: see BackendContract in contract.py.

Deliveries themselves (signing, retries, records) are exercised against a real receiver in
tests/notifications and tests/api/test_webhooks.py; this checks configuring them, the same way
on every backend.
"""

from __future__ import annotations

import pytest

from relayml.errors import InvalidInput, NotFound, PermissionDenied
from relayml.testing.contract import ContractEnv

URL = "https://hooks.example.com/relay"


class WebhookContract:
    def test_webhooks_are_added_listed_and_removed(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        mlops = contract.as_role(p, "mlops_engineer")
        added = mlops.add_webhook(p, URL)
        assert added.secret.startswith("whsec_")
        assert added.webhook.url == URL and added.webhook.project == p
        assert mlops.list_webhooks(p) == [added.webhook]
        assert mlops.webhook_deliveries(p) == []
        assert mlops.webhook_deliveries(p, added.webhook.id, limit=5) == []
        mlops.remove_webhook(p, added.webhook.id)
        assert mlops.list_webhooks(p) == []
        with pytest.raises(NotFound):
            mlops.remove_webhook(p, added.webhook.id)

    def test_webhook_input_and_permissions(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        with pytest.raises(InvalidInput, match="http"):
            contract.admin.add_webhook(p, "javascript:alert(1)")
        with pytest.raises(InvalidInput):
            contract.admin.remove_webhook(p, "../etc")
        with pytest.raises(InvalidInput, match="limit"):
            contract.admin.webhook_deliveries(p, limit=0)
        scientist = contract.as_role(p, "data_scientist")
        with pytest.raises(PermissionDenied):
            scientist.add_webhook(p, URL)
        with pytest.raises(PermissionDenied):
            scientist.list_webhooks(p)
        with pytest.raises(NotFound):
            contract.admin.list_webhooks(f"{p}-missing")
