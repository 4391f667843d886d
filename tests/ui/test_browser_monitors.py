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
