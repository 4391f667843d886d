"""Runs over HTTP: NaN/±inf survive JSON, batches, end, search with paging."""

from __future__ import annotations

import math

import httpx

from relayml.client.http import HttpBackend
from relayml.domain.tracking import MetricPoint
from tests.api.conftest import error_of


def test_nan_and_infinity_round_trip_as_json_strings(admin: httpx.Client, run_id: str) -> None:
    points = [["loss", 0.5, 0, 1000], ["loss", "NaN", 1, 1001]]
    points += [["loss", "Infinity", 2, 1002], ["loss", "-Infinity", 3, 1003]]
    r = admin.post(f"/api/v1/runs/{run_id}/batch", json={"metrics": points})
    assert r.status_code == 200, r.text
    assert r.json() == {"written": 4}
    history = admin.get(f"/api/v1/runs/{run_id}/metrics/loss")
    assert history.status_code == 200
    # strict JSON: no bare NaN/Infinity tokens a standard parser would reject
    assert b"NaN," not in history.content and b"Infinity," not in history.content
    assert history.json() == {"key": "loss", "points": points}
    assert admin.get(f"/api/v1/runs/{run_id}").json()["metrics"] == {"loss": "-Infinity"}


def test_nan_and_infinity_round_trip_through_the_http_backend(
    backend: HttpBackend, project: str
) -> None:
    run = backend.tracking.create_run(project=project, experiment="e")
    values = [math.nan, math.inf, -math.inf, 1e-300, 0.1]
    points = [MetricPoint("m", v, i, 1_700_000_000_000 + i) for i, v in enumerate(values)]
    assert backend.tracking.log_batch(run.id, metrics=points) == 5
    got = backend.tracking.metric_history(run.id, "m")
    assert [(p.step, p.timestamp) for p in got] == [(p.step, p.timestamp) for p in points]
    assert math.isnan(got[0].value)
    assert [p.value for p in got[1:]] == values[1:]
    backend.tracking.log_batch(run.id, metrics=[MetricPoint("last", math.nan, 0, 1)])
    assert math.isnan(backend.tracking.get_run(run.id).metrics["last"])


def test_metric_keys_with_slashes(backend: HttpBackend, project: str) -> None:
    run = backend.tracking.create_run(project=project, experiment="e")
    backend.tracking.log_batch(run.id, metrics=[MetricPoint("val/loss", 0.25, 0, 1)])
    assert [p.value for p in backend.tracking.metric_history(run.id, "val/loss")] == [0.25]


def test_run_lifecycle(admin: httpx.Client, project: str) -> None:
    body = {"experiment": "baseline", "name": "lr", "params": {"C": 1.0, "fit": True}}
    body["tags"] = {"team": "risk"}
    r = admin.post(f"/api/v1/projects/{project}/runs", json=body)
    assert r.status_code == 201
    run = r.json()
    assert (run["status"], run["experiment"], run["name"]) == ("running", "baseline", "lr")
    assert run["params"] == {"C": "1.0", "fit": "True"}
    assert run["tags"] == {"team": "risk"}
    r = admin.post(f"/api/v1/runs/{run['id']}/end", json={"status": "failed"})
    assert r.status_code == 200
    assert r.json()["status"] == "failed" and r.json()["end_time"] is not None
    r = admin.post(f"/api/v1/runs/{run['id']}/end", json={"status": "finished"})
    assert r.status_code == 409
    assert "failed" in str(error_of(r)["message"])
    exps = admin.get(f"/api/v1/projects/{project}/experiments").json()
    assert [(e["name"], e["run_count"]) for e in exps] == [("baseline", 1)]


def test_search_filters_orders_and_pages(backend: HttpBackend, project: str) -> None:
    for i in range(7):
        run = backend.tracking.create_run(project=project, experiment="a" if i % 2 else "b")
        backend.tracking.log_batch(
            run.id, params={"i": i}, metrics=[MetricPoint("acc", i / 10, 0, 1)]
        )
    seen: list[float] = []
    token = None
    while True:
        page = backend.tracking.search_runs(
            project=project,
            filter="metrics.acc >= 0.2",
            order_by=["metrics.acc DESC"],
            limit=2,
            page_token=token,
        )
        seen += [r.metrics["acc"] for r in page.runs]
        token = page.next_page_token
        if token is None:
            break
    assert seen == [0.6, 0.5, 0.4, 0.3, 0.2]
    only_a = backend.tracking.search_runs(project=project, experiments=["a"], order_by=["params.i"])
    assert [r.params["i"] for r in only_a.runs] == ["1", "3", "5"]
    both = backend.tracking.search_runs(project=project, experiments=["a", "b"])
    assert len(both.runs) == 7


def test_a_point_the_store_cannot_hold_is_a_422_and_poisons_nothing(
    admin: httpx.Client, run_id: str
) -> None:
    """Steps past 64 bits, negative timestamps and booleans are refused by the schema, as the
    SDK refuses them; the run still takes good points afterwards."""
    bad = [["loss", 0.5, 2**63, 1000], ["loss", 0.5, 0, -1], ["loss", True, 0, 1000]]
    for point in bad:
        r = admin.post(f"/api/v1/runs/{run_id}/batch", json={"metrics": [point]})
        assert r.status_code == 422, (point, r.text)
        assert error_of(r)["code"] == "unprocessable"
    r = admin.post(f"/api/v1/runs/{run_id}/batch", json={"metrics": [["loss", 0.5, 1, 1000]]})
    assert r.status_code == 200, r.text
    r = admin.post(f"/api/v1/runs/{run_id}/end", json={"status": "finished"})
    assert r.json()["metrics"] == {"loss": 0.5}
