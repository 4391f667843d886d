"""`TrackingApi` over REST: experiments, runs, params, metrics, tags and search.

Params, tags and metric points are checked and put in the form the service stores before they
are sent, so values JSON cannot carry (NaN, Path, numpy scalars, 2^63) give the same result and
the same errors as in embedded mode.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from relayml.client.http.binding import Args, Route, get, post
from relayml.domain.tracking import check_key, check_point, param_value, tag_value
from relayml.wire.tracking import MetricHistoryOut, WrittenOut, metric_row


def _logged(a: Args) -> dict[str, Any]:
    params, tags = a["params"] or {}, a["tags"] or {}
    return {
        "params": {check_key("param", k): param_value(k, v) for k, v in params.items()},
        "tags": {check_key("tag", k): tag_value(k, v) for k, v in tags.items()},
    }


def _run(a: Args) -> object:
    return {k: v for k, v in a.items() if k != "project"} | _logged(a)


def _batch(a: Args) -> object:
    return _logged(a) | {"metrics": [metric_row(check_point(p)) for p in a["metrics"] or []]}


def _search(a: Args) -> dict[str, Any]:
    query = {k: v for k, v in a.items() if k not in ("project", "experiments")}
    return query | {"experiment": a["experiments"] or None, "order_by": a["order_by"] or None}


def _metric_key(key: str) -> str:
    return quote(check_key("metric", key), safe="/")  # the route takes the key as a path


ROUTES: dict[str, Route] = {
    "list_experiments": get("/projects/{project}/experiments"),
    "create_run": post("/projects/{project}/runs", body=_run),
    "log_batch": post(
        "/runs/{run_id}/batch", body=_batch, out=lambda f: WrittenOut.model_validate(f).written
    ),
    "end_run": post("/runs/{run_id}/end"),
    "get_run": get("/runs/{run_id}"),
    "metric_history": get(
        "/runs/{run_id}/metrics/{key}",
        segments={"key": _metric_key},
        out=lambda f: MetricHistoryOut.model_validate(f).to_domain(),
    ),
    "search_runs": get("/projects/{project}/runs", query=_search),
}
