"""What the Relay server holds, counted for the people who run it (`GET /api/v1/metrics`).

Reading it needs `service.metrics.read` in every project (`*`): the gauges count every
project's alerts, requests and runs by name, so a grant in one project is not enough. A
scrape is a read transaction of ten grouped counts (docs/operations.md)."""

from __future__ import annotations

from relayml.domain.audit import EntityKind
from relayml.domain.identity import GLOBAL_SCOPE, Principal
from relayml.domain.operations import PlatformStatus
from relayml.domain.roles import Action
from relayml.services.base import ServiceBase, utcnow


class OperationsService(ServiceBase):
    def status(self, who: Principal) -> PlatformStatus:
        """The gauges of the work the store holds, and the database's schema revision."""
        with self.read() as tx:
            self.require(
                tx, who, Action.SERVICE_METRICS_READ, GLOBAL_SCOPE, EntityKind.SERVICE, "metrics"
            )
            gauges = tx.operations.gauges(utcnow())
        return PlatformStatus(tuple(gauges), self.store.schema_revision())
