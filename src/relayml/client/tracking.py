"""The `tracking` area's client protocol, `TrackingApi`: what both backends implement (the
services bound in-process by `client.local`, REST in `client/http/tracking.py`)."""

from __future__ import annotations

from typing import Any, Protocol

from relayml.domain.tracking import Experiment, MetricPoint, RunPage, RunRecord


class TrackingApi(Protocol):
    """`services.tracking`: experiments, runs, params, metrics, tags and search."""

    def list_experiments(self, project: str) -> list[Experiment]: ...
    def create_run(
        self,
        *,
        project: str,
        experiment: str,
        name: str | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        parent_id: str | None = None,
    ) -> RunRecord: ...
    def log_batch(
        self,
        run_id: str,
        *,
        params: dict[str, Any] | None = None,
        metrics: list[MetricPoint] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> int: ...
    def end_run(self, run_id: str, status: str = "finished") -> RunRecord: ...
    def get_run(self, run_id: str) -> RunRecord: ...
    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]: ...
    def search_runs(
        self,
        *,
        project: str,
        experiments: list[str] | None = None,
        filter: str | None = None,
        order_by: list[str] | None = None,
        limit: int = 1000,
        page_token: str | None = None,
    ) -> RunPage: ...
