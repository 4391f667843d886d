"""A deployment's live traffic on its page: requests per minute per arm from the prediction-log
segments its servers registered, latency per arm with the numbers a click away, the panel alone
for the page's refresh, the same read permission as the page, and in the real browser (axe, no
console errors, a screenshot) a refresh that shows new traffic without reloading the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from relayml.client.http import HttpBackend
from tests.deployments.traffic_log import log_table
from tests.ui.browser import needs_chromium
from tests.ui.conftest import HOSTILE, OTHER, PROJECT, UiWorld, sign_in

NAME = "live-api"
PATH = f"/p/{PROJECT}/deployments/{NAME}"


class Logger:
    def __init__(self, backend: HttpBackend, tmp: Path) -> None:
        self.backend, self.tmp, self.seq = backend, tmp, 0

    def log(self, arm: str, version: int, times: list[datetime], latency: float, rows: int) -> None:
        """One segment of requests, registered as a model server registers it."""
        self.seq += 1
        table = log_table(NAME, PROJECT, arm, version, times, [latency] * len(times),
                          [rows] * len(times), prefix=f"q{self.seq}")  # fmt: skip
        path = self.tmp / f"seg-{self.seq}.parquet"
        pq.write_table(table, path)
        ts = table["ts"].to_pylist()
        self.backend.deployments.record_segment(
            PROJECT, NAME, path, uri=f"serving/{PROJECT}/{NAME}/d/s1-{self.seq}.parquet",
            records=table.num_rows, first_at=min(ts), last_at=max(ts), server_id="s1",
        )  # fmt: skip


@pytest.fixture(scope="module")
def live(ui_world: UiWorld, data_world: Any) -> Iterator[Logger]:
    """live-api serving churn@1 with churn@2 as a 20 % canary; in the last ten minutes 40
    primary requests of 2 rows at 3 ms and 10 canary requests at 8 ms."""
    mle = HttpBackend(ui_world.url, ui_world.tokens["ml_engineer"])
    tmp = ui_world.home / "live-traffic"
    tmp.mkdir(exist_ok=True)
    try:
        mle.deployments.create(PROJECT, NAME, "churn@1", reason="live traffic page")
        mle.deployments.set_traffic(
            PROJECT, NAME, canary="churn@2", canary_percent=20, reason="try it"
        )
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        logger = Logger(mle, tmp)
        logger.log("primary", 1, [now - timedelta(minutes=1 + i // 4) for i in range(40)], 3.0, 2)
        logger.log("canary", 2, [now - timedelta(minutes=2)] * 10, 8.0, 1)
        yield logger
    finally:
        mle.close()


def test_the_page_shows_requests_per_minute_and_latency_per_arm(
    ui_world: UiWorld, live: Logger
) -> None:
    with sign_in(ui_world.url, ui_world.tokens["stakeholder"]) as c:
        page = c.get(PATH)
        assert page.status_code == 200
        text = page.text
        assert '<h2 id="live">Live traffic</h2>' in text
        assert "50 requests (90 rows) in the last 60 minutes" in text
        assert "busiest minute" in text and "primary 40, canary 10" in text
        # the latency table: arm, version, requests, rows, p50, p95, p99
        row = re.search(r'<th scope="row">canary</th><td>2</td>(.*?)</tr>', text)
        assert row and re.findall(r">([\d.]+)<", row.group(1)) == ["10", "10", "8", "8", "8"]
        row = re.search(r'<th scope="row">primary</th><td>1</td>(.*?)</tr>', text)
        assert row and re.findall(r">([\d.]+)<", row.group(1)) == ["40", "80", "3", "3", "3"]
        assert "/metrics" in text and "relay_serving_request_seconds" in text
        # the panel alone, for the refresh, and other windows
        panel = c.get(f"{PATH}/live", params={"minutes": 15})
        assert panel.status_code == 200 and "<html" not in panel.text
        assert "in the last 15 minutes" in panel.text
        assert panel.headers["content-security-policy"].startswith("default-src 'none'")
        for bad in ("7", "2" * 30, "<b>"):
            r = c.get(f"{PATH}/live", params={"minutes": bad})
            assert r.status_code == 400 and "15, 60, 180 minutes" in r.text
            assert "<b>" not in r.text


def test_a_hostile_name_and_other_projects_are_refused(ui_world: UiWorld, live: Logger) -> None:
    with sign_in(ui_world.url, ui_world.tokens["ml_engineer"]) as c:
        r = c.get(f"/p/{OTHER}/deployments/{NAME}/live")
        assert r.status_code in (403, 404)
        assert "requests" not in r.text
        r = c.get(f"/p/{PROJECT}/deployments/{HOSTILE[:20]}/live")
        assert r.status_code in (400, 404) and "<script>" not in r.text
    with httpx_client(ui_world.url) as anonymous:
        r = anonymous.get(f"{PATH}/live")
        assert r.status_code in (303, 401) and "requests" not in r.text


@needs_chromium
def test_an_ml_engineer_watches_traffic_arrive(visit: Any, ui_world: UiWorld, live: Logger) -> None:
    v = visit("ml_engineer")
    page = v.page
    page.goto(f"{ui_world.url}{PATH}")
    chart = page.get_by_role("img", name=re.compile("Requests per minute over the last 60"))
    assert chart.is_visible()
    page.get_by_text("The numbers, minute by minute").click()
    table = page.get_by_role("region", name="Requests per minute table")
    assert table.get_by_role("row").count() >= 3
    v.check("deployment-live")
    # a server registers another segment: the panel refreshes in place, the page stays
    now = datetime.now(UTC)
    live.log("primary", 1, [now] * 5, 4.0, 1)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.get_by_text(re.compile(r"^55 requests \(95 rows\)")).wait_for()
    assert page.url.endswith(PATH)
    page.get_by_role("link", name="15 minutes").click()
    page.wait_for_url("**minutes=15#live")
    assert page.get_by_text(re.compile("in the last 15 minutes")).is_visible()
    v.check("deployment-live-15")


def httpx_client(url: str) -> Any:
    import httpx

    return httpx.Client(base_url=url, timeout=30, follow_redirects=False)
