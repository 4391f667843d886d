"""Each role in a real browser (Playwright driving Debian's Chromium): sign in, land on the
role's home, do the role's main task. Every page visited is screenshotted under pytest's base
temp (`ui-screenshots/`), checked with axe-core (no serious or critical violation) and fails on
any JavaScript console error or uncaught exception (a Content-Security-Policy violation is one).

axe-core is vendored as one file (tests/ui/axe.min.js, axe-core 4.14.1 from the npm registry,
MPL-2.0, its licence header kept) and evaluated in the page through the DevTools protocol, so the
page's own policy (script-src 'self') stays in force for everything else.
"""

from __future__ import annotations

import re
from typing import Any

from tests.ui.browser import needs_chromium as pytestmark  # noqa: F401 (the module's marks)
from tests.ui.conftest import PROJECT, UiWorld


def test_a_data_scientist_filters_runs_and_compares_two(visit: Any) -> None:
    v = visit("data_scientist")
    page = v.page
    assert page.get_by_role("heading", name="Recent runs").is_visible()
    v.check("home")
    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Experiments").click()
    page.wait_for_url("**/runs")
    v.check("runs")
    page.get_by_label("Filter").fill("metrics.auc > 1.0 AND params.depth != '5'")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r".*filter=.*"))
    boxes = page.get_by_role("checkbox", name=re.compile("^Select run"))
    assert boxes.count() == 2  # auc past 1.0: runs 1-3; depth 5 is run 3
    v.check("runs-filtered")
    page.get_by_role("link", name=re.compile("^auc")).first.click()  # sort by auc
    page.wait_for_load_state("networkidle")
    boxes = page.get_by_role("checkbox", name=re.compile("^Select run"))
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="Compare selected runs").click()
    page.wait_for_url("**/compare?**")
    page.locator("#compare-chart .main-svg").first.wait_for()
    assert page.get_by_role("heading", name="Compare 2 runs").is_visible()
    assert page.locator("svg.parcoords polyline").count() == 2
    v.check("compare")
    page.get_by_role("link", name=re.compile("^run-")).first.click()
    page.locator("#run-chart .main-svg").first.wait_for()
    page.get_by_label("Smoothing").fill("0.6")
    page.get_by_label("X axis").select_option("relative")
    page.get_by_text("auc: every value as a table").click()
    assert page.get_by_role("table", name="auc by step").is_visible()
    v.check("run")


def test_governance_verifies_the_chain_on_the_audit_page(visit: Any) -> None:
    v = visit("model_governance")
    page = v.page
    assert page.get_by_text("The audit chain verifies").is_visible()
    v.check("home")
    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Audit").click()
    page.wait_for_url("**/audit")
    v.check("audit")
    page.get_by_label("Action").select_option("run.create")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r".*action=run.create.*"))
    page.get_by_role("button", name="Verify chain").click()
    page.wait_for_url("**/audit/verify")
    assert page.get_by_role("status").inner_text().startswith("The audit chain verifies")
    v.check("audit-verified")
    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Registry").click()
    page.get_by_role("link", name="promote churn@1 to production").click()
    assert page.get_by_role("button", name="Approve").is_visible()
    v.check("registry-request")


def test_a_stakeholder_sees_no_write_controls_and_a_forged_write_is_refused(
    visit: Any, ui_world: UiWorld
) -> None:
    v = visit("stakeholder", width=820)  # a tablet's width
    page = v.page
    assert page.get_by_role("heading", name="Your models, in plain words").is_visible()
    v.check("home")
    request_id = ui_world.extra["request"]
    page.goto(f"{ui_world.url}/p/{PROJECT}/registry?request={request_id}")
    assert page.get_by_role("button", name="Approve").count() == 0
    assert page.get_by_role("button", name="Reject").count() == 0
    v.check("registry")
    # the write anyway: a form posted from this page with its own valid CSRF token
    page.evaluate(
        """(url) => {
            const form = document.createElement('form');
            form.method = 'post';
            form.action = url;
            const csrf = document.querySelector('input[name=csrf]').cloneNode();
            form.appendChild(csrf);
            document.body.appendChild(form);
            form.submit();
        }""",
        f"/p/{PROJECT}/requests/{request_id}/approve",
    )
    page.wait_for_url("**/approve")
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    assert "promotion.approve needs" in page.get_by_role("alert").inner_text()
    v.errors = [e for e in v.errors if "403" not in e]  # the refusal itself, as expected
    v.check("refused")


def test_the_other_roles_land_on_their_homes(visit: Any) -> None:
    for role, heading in (
        ("data_engineer", "Datasets and their contracts"),
        ("ml_engineer", "Deployments"),
    ):
        v = visit(role)
        assert v.page.get_by_role("heading", name=heading).is_visible()
        v.check("home")


def test_the_keyboard_reaches_the_content_first(visit: Any) -> None:
    v = visit("data_scientist")
    page = v.page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_a_stakeholder_opens_a_model_and_reads_its_alias_history(visit: Any) -> None:
    v = visit("stakeholder")
    page = v.page
    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Registry").click()
    page.get_by_role("link", name="churn", exact=True).click()
    page.wait_for_url("**/models/churn")
    assert page.get_by_role("heading", name="Alias history").is_visible()
    assert page.get_by_role("table", name=re.compile("move of churn")).is_visible()
    assert page.get_by_role("cell", name=re.compile("^first try")).is_visible()
    v.check("model")


def test_an_idle_session_signs_out_and_signing_in_returns_to_the_page(
    visit: Any, ui_world: UiWorld
) -> None:
    from tests.ui.test_sessions import idle_for

    v = visit("data_scientist")
    page = v.page
    target = f"{ui_world.url}/p/{PROJECT}/runs?filter=params.depth+%3E+2"
    page.goto(target)
    session = next(c for c in page.context.cookies() if c["name"] == "relay_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    idle_for(ui_world, session["value"], 45)
    page.reload()  # the next request after the limit
    page.wait_for_url("**/login?next=*")
    note = page.get_by_role("status")
    assert note.inner_text().startswith("You were signed out after 30 minutes without activity")
    v.check("signed-out-idle")
    page.get_by_label("Token").fill(ui_world.tokens["data_scientist"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(target)
    assert page.get_by_label("Filter").input_value() == "params.depth > 2"
    v.check("back-after-idle")
