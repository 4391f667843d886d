"""Monitors and alerts in the real browser, on the shared harness (screenshots, axe, no console
errors): an ML engineer follows an alert from the inbox, acknowledges it and reads the
monitor's timeline; a stakeholder at a tablet's width sees both pages without a control."""

from __future__ import annotations

import re
from typing import Any

from tests.ui.browser import needs_chromium as pytestmark  # noqa: F401 (the module's marks)
from tests.ui.conftest import PROJECT, UiWorld


def test_an_ml_engineer_acknowledges_an_alert_from_the_inbox(
    visit: Any, monitor_world: Any
) -> None:
    v = visit("ml_engineer")
    page = v.page
    inbox = page.get_by_role("region", name=re.compile("^Inbox"))
    inbox.get_by_role("link", name=re.compile("prediction drift on score")).click()
    page.wait_for_url(f"**/alerts/{monitor_world.score_alert}")
    v.check("alert")
    page.get_by_label("Note (optional)").fill("on it")
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url("**#notes")
    assert page.get_by_text("on it").is_visible()
    v.check("alert-acknowledged")
    page.get_by_role("link", name="on the timeline").click()
    page.wait_for_url(re.compile(r".*/monitors/churn-watch#window-\d+"))
    assert page.get_by_role("heading", name="Drift per input column").is_visible()
    v.check("monitor")
    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Monitors").click()
    page.wait_for_url("**/monitors")
    v.check("monitors")


def test_a_stakeholder_reads_monitors_without_controls(
    visit: Any, ui_world: UiWorld, monitor_world: Any
) -> None:
    v = visit("stakeholder", width=820)
    page = v.page
    for path, name in (
        (f"alerts/{monitor_world.score_alert}", "alert"),
        ("monitors/churn-watch", "monitor"),
    ):
        page.goto(f"{ui_world.url}/p/{PROJECT}/{path}")
        assert page.locator("main form[method=post]").count() == 0, path
        v.check(name)


def test_an_ml_engineer_pauses_then_resumes_a_monitor(
    visit: Any, ui_world: UiWorld, monitor_world: Any
) -> None:
    v = visit("ml_engineer")
    page = v.page
    page.goto(f"{ui_world.url}/p/{PROJECT}/monitors/churn-watch")
    v.check("monitor-controls")
    page.get_by_role("region", name="Pause").get_by_label("Reason").fill("upstream feed down")
    page.get_by_role("button", name="Pause").click()
    page.wait_for_url("**/monitors/churn-watch#status")
    assert page.get_by_text("Paused: upstream feed down.").is_visible()
    assert page.get_by_role("button", name="Pause").count() == 0
    v.check("monitor-paused")
    page.get_by_role("region", name="Resume").get_by_label("Reason").fill("feed is back")
    page.get_by_role("button", name="Resume").click()
    page.wait_for_url("**/monitors/churn-watch#status")
    assert page.get_by_role("button", name="Pause").is_visible()
    assert page.get_by_text("Paused:").count() == 0
    v.check("monitor-resumed")
    # the deployment's page lists it; its link leads back
    page.get_by_role("link", name="churn-api").first.click()
    page.wait_for_url("**/deployments/churn-api")
    watching = page.get_by_role("region", name="Monitors on this deployment")
    assert "active" in watching.get_by_role("row", name=re.compile("churn-watch")).inner_text()
    v.check("deployment-monitors")
    watching.get_by_role("link", name="churn-watch").click()
    page.wait_for_url("**/monitors/churn-watch")


def test_an_ml_engineer_archives_a_monitor_after_confirming(
    visit: Any, ui_world: UiWorld, monitor_world: Any
) -> None:
    from relayml.client.http import HttpBackend

    mle = HttpBackend(ui_world.url, ui_world.tokens["ml_engineer"])
    try:
        mle.monitors.create(
            PROJECT, "churn-api", name="churn-old", window="1h", reference="churn-train@1"
        )
    finally:
        mle.close()
    v = visit("ml_engineer")
    page = v.page
    page.goto(f"{ui_world.url}/p/{PROJECT}/monitors/churn-old")
    archive = page.get_by_role("region", name="Archive")
    archive.get_by_label("Reason").fill("replaced by churn-watch")
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        if len(asked) == 1:
            dialog.dismiss()  # the first time: changed their mind
        else:
            dialog.accept()

    page.on("dialog", answer)
    archive.get_by_role("button", name="Archive").click()
    assert asked and asked[0].startswith("Archive monitor churn-old?")
    assert page.get_by_role("button", name="Archive").is_visible()  # nothing was sent
    archive.get_by_role("button", name="Archive").click()
    page.wait_for_url("**/monitors/churn-old#status")
    assert page.get_by_text("Archived: replaced by churn-watch.").is_visible()
    assert page.locator("main form[method=post]").count() == 0
    v.check("monitor-archived")
