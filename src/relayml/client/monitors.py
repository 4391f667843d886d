"""The `monitors` area's client protocol, `MonitorsApi`: what both backends implement (the
services bound in-process by `client.local`, REST in `client/http/monitors.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from relayml.domain.monitors import (
    Alert,
    Check,
    Monitor,
    MonitorReport,
    ProcessResult,
    Rollup,
    Window,
)


class MonitorsApi(Protocol):
    """`services.monitors`: monitors on deployments (windows of the prediction log, drift,
    performance with and without labels), their processing, model-shift checks, and alerts."""

    def create(
        self,
        project: str,
        deployment: str,
        *,
        name: str | None = None,
        window: str | int = "1h",
        reference: str | None = None,
        target: str | None = None,
        min_rows: int = 100,
        alert_after: str = "3/4",
        label_horizon: str | float = "30d",
        grace: str | float = "5m",
        owner: str = "ml_engineer",
        since: datetime | None = None,
        endpoint: str | None = None,
        check_every: str | float = "5m",
        no_traffic_after: int | None = None,
        evaluation: str | None = None,
    ) -> Monitor: ...
    def set_endpoint(
        self,
        project: str,
        name: str,
        endpoint: str | None,
        *,
        check_every: str | float | None = None,
    ) -> Monitor: ...
    def get(self, project: str, name: str) -> Monitor: ...
    def list_monitors(self, project: str, include_archived: bool = False) -> list[Monitor]: ...
    def pause(self, project: str, name: str, *, reason: str = "") -> Monitor: ...
    def resume(self, project: str, name: str, *, reason: str = "") -> Monitor: ...
    def archive(self, project: str, name: str, *, reason: str = "") -> Monitor: ...
    def history(
        self,
        project: str,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        last: int | None = None,
    ) -> list[Window]: ...
    def rollups(
        self,
        project: str,
        name: str,
        *,
        period: str = "day",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Rollup]: ...
    def report(
        self,
        project: str,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> MonitorReport: ...
    def process(self, project: str, name: str) -> ProcessResult: ...
    def record_check(
        self, project: str, monitor: str, kind: str, passed: bool, details: dict[str, Any]
    ) -> Check: ...
    def checks(self, project: str, name: str, *, limit: int = 100) -> list[Check]: ...
    def list_alerts(
        self,
        project: str,
        *,
        monitor: str | None = None,
        include_resolved: bool = False,
        limit: int = 100,
    ) -> list[Alert]: ...
    def get_alert(self, project: str, alert_id: str) -> Alert: ...
    def ack_alert(self, project: str, alert_id: str, *, note: str = "") -> Alert: ...
    def comment_alert(self, project: str, alert_id: str, text: str) -> Alert: ...
    def resolve_alert(self, project: str, alert_id: str, *, reason: str) -> Alert: ...
