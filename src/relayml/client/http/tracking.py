"""`TrackingApi` over REST: experiments, runs, params, metrics, tags and search."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from relayml.client.http.transport import HttpTransport
from relayml.client.http.urls import API, project_url, run_seg
from relayml.domain.tracking import (
    Experiment,
    MetricPoint,
    RunPage,
    RunRecord,
    check_key,
    check_point,
    param_value,
    tag_value,
)
from relayml.wire.tracking import (
    ExperimentOut,
    MetricHistoryOut,
    RunOut,
    RunPageOut,
    WrittenOut,
    metric_row,
)


class HttpTracking:
    def __init__(self, transport: HttpTransport) -> None:
        self.t = transport

    def list_experiments(self, project: str) -> list[Experiment]:
        rows = self.t.call("GET", f"{project_url(project)}/experiments")
        return [ExperimentOut.model_validate(e).to_domain() for e in rows]

    def create_run(
        self,
        *,
        project: str,
        experiment: str,
        name: str | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        parent_id: str | None = None,
    ) -> RunRecord:
        body = {
            "experiment": experiment,
            "name": name,
            "params": _params(params),
            "tags": _tags(tags),
            "parent_id": parent_id,
        }
        found = self.t.call("POST", f"{project_url(project)}/runs", json=body)
        return RunOut.model_validate(found).to_domain()

    def log_batch(
        self,
        run_id: str,
        *,
        params: dict[str, Any] | None = None,
        metrics: list[MetricPoint] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> int:
        body = {
            "params": _params(params),
            "tags": _tags(tags),
            # Checked here as the service checks them, so a bad point fails the same way.
            "metrics": [metric_row(check_point(p)) for p in metrics or []],
        }
        found = self.t.call("POST", f"{API}/runs/{run_seg(run_id)}/batch", json=body)
        return WrittenOut.model_validate(found).written

    def end_run(self, run_id: str, status: str = "finished") -> RunRecord:
        found = self.t.call("POST", f"{API}/runs/{run_seg(run_id)}/end", json={"status": status})
        return RunOut.model_validate(found).to_domain()

    def get_run(self, run_id: str) -> RunRecord:
        return RunOut.model_validate(
            self.t.call("GET", f"{API}/runs/{run_seg(run_id)}")
        ).to_domain()

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        path = f"{API}/runs/{run_seg(run_id)}/metrics/{quote(check_key('metric', key), safe='/')}"
        return MetricHistoryOut.model_validate(self.t.call("GET", path)).to_domain()

    def search_runs(
        self,
        *,
        project: str,
        experiments: list[str] | None = None,
        filter: str | None = None,
        order_by: list[str] | None = None,
        limit: int = 1000,
        page_token: str | None = None,
    ) -> RunPage:
        params = {
            "experiment": experiments or None,
            "filter": filter,
            "order_by": order_by or None,
            "limit": limit,
            "page_token": page_token,
        }
        found = self.t.call("GET", f"{project_url(project)}/runs", params=params)
        return RunPageOut.model_validate(found).to_domain()


def _params(values: dict[str, Any] | None) -> dict[str, str]:
    # Sent in the string form the service stores, so values JSON cannot carry (NaN, Path,
    # numpy scalars) give the same result and the same errors as in embedded mode.
    return {check_key("param", k): param_value(k, v) for k, v in (values or {}).items()}


def _tags(values: dict[str, Any] | None) -> dict[str, str]:
    return {check_key("tag", k): tag_value(k, v) for k, v in (values or {}).items()}
