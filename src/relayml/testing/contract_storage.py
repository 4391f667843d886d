"""The backend contract for storage: the artifact store's housekeeping."""

from __future__ import annotations

import pytest

from relayml.errors import (
    PermissionDenied,
)
from relayml.testing.contract import ContractEnv


class StorageContract:
    def test_gc_is_a_dry_run_by_default_and_for_admins_only(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        report = contract.admin.storage.gc(grace="24h")
        assert not report.applied and report.grace_seconds == 24 * 3600
        assert all(item.age_seconds >= 24 * 3600 for item in report.leftovers)
        with pytest.raises(PermissionDenied, match=r"storage\.gc"):
            contract.as_role(p, "data_engineer").storage.gc()
