"""The data, pipelines, drift and deployments pages in the real browser, on the shared harness
of test_browser.py (one Chromium per session, a screenshot of every page, axe-core with no
serious or critical violation, no console error): a data engineer walks from a dataset to a
version's profile, quality and lineage, compares one for drift and quarantines another; opens the
failing pipeline run; an ML engineer changes a deployment's traffic; a stakeholder at a
tablet's width sees the same pages without a write control."""

from __future__ import annotations

import re
from typing import Any

from tests.ui.browser import needs_chromium as pytestmark  # noqa: F401 (the module's marks)
from tests.ui.conftest import PROJECT, UiWorld


def _nav(page: Any, name: str) -> None:
    page.get_by_role("navigation", name="Areas").get_by_role("link", name=name).click()


def test_a_data_engineer_looks_into_a_version_and_quarantines_it(
    visit: Any, data_world: Any
) -> None:
    v = visit("data_engineer")
    page = v.page
    _nav(page, "Data")
    page.wait_for_url("**/datasets")
    v.check("datasets")
    page.get_by_role("link", name="features", exact=True).click()
    page.wait_for_url("**/datasets/features")
    v.check("dataset")
    page.get_by_role("link", name="features@1").first.click()
    page.wait_for_url("**/datasets/features/1")
    assert page.get_by_role("group", name="Lineage of features@1").is_visible()
    page.get_by_text("Lineage of features@1 as a list").click()
    assert page.get_by_role("link", name="churn@2").first.is_visible()
    page.get_by_text("amount: the numbers as a table").click()
    assert page.get_by_role("table", name="Histogram of amount").is_visible()
    v.check("version-lineage")
    page.goto(page.url.replace("/features/1", "/loans/2"))
    page.get_by_label("Reference version").select_option("loans@1")
    page.get_by_role("button", name="Show drift").click()
    page.wait_for_url(re.compile(r".*/drift\?.*"))
    assert page.get_by_role("heading", name=re.compile("columns changed enough")).is_visible()
    v.check("drift")
    page.get_by_role("link", name="loans@1").first.click()  # the reference, from the report
    page.goto(page.url.replace("/loans/1", "/loans/3"))
    page.get_by_label("Reason (kept in the audit trail)").fill("a bad feed, found by hand")
    page.get_by_role("button", name="Quarantine").click()
    page.wait_for_url("**/datasets/loans/3#status")
    assert page.get_by_text("a bad feed, found by hand").is_visible()
    assert page.get_by_role("button", name="Release").is_visible()
    v.check("quarantined")
    page.get_by_role("link", name="Contracts").first.click()
    page.wait_for_url("**/contracts")
    v.check("contracts")
    page.locator("table a code").first.click()
    page.wait_for_url(re.compile(r".*/contracts/[0-9a-f]{64}"))
    v.check("contract")
    _nav(page, "Pipelines")
    page.wait_for_url("**/pipelines")
    v.check("pipelines")
    page.get_by_role("link", name=data_world.failed_run[:12]).first.click()
    page.wait_for_url(f"**/pipeline-runs/{data_world.failed_run}")
    assert page.get_by_text("2 retries").is_visible()
    assert page.get_by_label("Log of step clean").is_visible()  # a failed step's log is open
    v.check("pipeline-run")
    page.get_by_role("link", name="prep").first.click()
    page.wait_for_url("**/pipelines/prep")
    v.check("pipeline")


def test_an_ml_engineer_sets_a_deployments_traffic(visit: Any, data_world: Any) -> None:
    v = visit("ml_engineer")
    page = v.page
    _nav(page, "Deployments")
    page.wait_for_url("**/deployments")
    v.check("deployments")
    page.get_by_role("link", name="churn-api").click()
    page.wait_for_url("**/deployments/churn-api")
    v.check("deployment")
    page.get_by_label("Canary (model@version or @alias; empty for none)").fill("churn@2")
    page.get_by_label("Canary share of live traffic (%)").fill("10")
    page.get_by_label("Reason", exact=True).first.fill("a careful start")
    page.get_by_role("button", name="Set traffic").click()
    page.wait_for_url("**/deployments/churn-api#traffic")
    assert page.get_by_role("img", name=re.compile("canary churn@2 10 %")).is_visible()
    assert page.get_by_role("cell", name="a careful start").is_visible()
    v.check("deployment-canary")


def test_a_stakeholder_reads_data_and_deployments_without_controls(
    visit: Any, ui_world: UiWorld, data_world: Any
) -> None:
    v = visit("stakeholder", width=820)
    page = v.page
    for path, name in (
        ("datasets/loans/2", "version"),
        ("deployments/churn-api", "deployment"),
        ("drift?reference=scores%401&current=scores%402", "drift"),
    ):
        page.goto(f"{ui_world.url}/p/{PROJECT}/{path}")
        assert page.locator("main form[method=post]").count() == 0, path
        v.check(name)


def test_the_lineage_graph_works_from_the_keyboard(visit: Any, data_world: Any) -> None:
    v = visit("data_engineer")
    page = v.page
    page.goto(page.url + "datasets/features/1#lineage")
    node = page.get_by_role("group", name="Lineage of features@1").get_by_role("link").first
    node.focus()
    assert page.evaluate("document.activeElement.closest('svg') !== null")
    page.keyboard.press("Enter")
    page.wait_for_url("**/datasets/loans/1")
    v.check("lineage-by-keyboard")
