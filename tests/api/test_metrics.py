"""`GET /api/v1/metrics`: the Relay server's own Prometheus metrics, for whoever runs it.
Every request counted under its route template (never the raw path), the gate's refusals
included; the gauges of the work the store holds read at each scrape (on SQLite and
PostgreSQL); `service.metrics.read` needed in every project, not one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from relayml.client.http import HttpBackend
from relayml.errors import PermissionDenied
from relayml.services import open_services
from relayml.testing.server import ServerInfo, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    with running_server(tmp_path_factory.mktemp("metrics")) as info:
        yield info


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _scrape(server: ServerInfo, token: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/api/v1/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def test_requests_are_counted_by_route_template(server: ServerInfo) -> None:
    admin = HttpBackend(server.url, server.admin_token)
    try:
        admin.identity.create_project("secret-name")
        for _ in range(3):
            admin.tracking.search_runs(project="secret-name")
    finally:
        admin.close()
    refused = httpx.get(f"{server.url}/api/v1/projects/secret-name/runs", timeout=30)
    assert refused.status_code == 401
    r = _scrape(server, server.admin_token)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "secret-name" not in r.text  # a path's values never become labels
    got = _samples(r.text)
    runs = ("method", "GET"), ("route", "/api/v1/projects/{project}/runs"), ("status", "200")
    assert got[("relay_http_requests_total", tuple(sorted(runs)))] >= 3
    unmatched = (("method", "GET"), ("route", "(unmatched)"), ("status", "401"))
    assert got[("relay_http_requests_total", unmatched)] >= 1
    timed = (("method", "GET"), ("route", "/api/v1/projects/{project}/runs"))
    assert got[("relay_http_request_seconds_count", timed)] >= 3
    info = [k for k in got if k[0] == "relay_server_info"]
    assert len(info) == 1 and dict(info[0][1])["schema_revision"]
    assert got[("relay_audit_events", ())] > 0


def test_only_a_platform_wide_grant_reads_them(server: ServerInfo) -> None:
    admin = HttpBackend(server.url, server.admin_token)
    try:
        admin.identity.ensure_project("shop")
        one = admin.identity.create_user("dora", ["devops_engineer"], "shop").token
        every = admin.identity.create_user("dave", ["devops_engineer"], "*").token
        scientist = admin.identity.create_user("sci", ["data_scientist"], "*").token
    finally:
        admin.close()
    r = _scrape(server, one)
    assert r.status_code == 403
    assert "service.metrics.read" in r.json()["error"]["message"]
    assert _scrape(server, scientist).status_code == 403
    assert _scrape(server, every).status_code == 200
    assert httpx.get(f"{server.url}/api/v1/metrics", timeout=30).status_code == 401


def test_the_gauges_count_what_the_store_holds(store_url: str, tmp_path: Path) -> None:
    services = open_services(
        store_url, str(tmp_path / "artifacts"), secret_key_file=tmp_path / "secret.keys"
    )
    try:
        admin = services.identity.provision_local("admin")
        services.identity.ensure_project(admin, "churn")
        services.notifications.add_webhook(admin, "churn", "http://127.0.0.1:9/hook")
        services.identity.ensure_project(admin, "other")  # an event: one pending delivery
        status = services.operations.status(admin)
        gauges = {g.name: g for g in status.gauges}
        assert set(gauges) >= {
            "relay_alerts_open", "relay_monitors", "relay_promotion_requests_pending",
            "relay_loop_runs_active", "relay_pipeline_runs_active", "relay_webhook_deliveries",
            "relay_dataset_versions_quarantined", "relay_monitor_last_pass_age_seconds",
            "relay_ui_sessions_active", "relay_audit_events",
        }  # fmt: skip
        assert gauges["relay_audit_events"].values[0][1] >= 3
        assert status.schema_revision
        viewer = services.identity.create_user(admin, "vic", ["devops_engineer"], "churn")
        with pytest.raises(PermissionDenied, match=re.escape("every project")):
            services.operations.status(services.identity.authenticate(viewer.token))
    finally:
        services.close()
