"""Feedback in the real browser, on the shared harness (screenshots, axe, no console errors): a
stakeholder gives feedback on a prediction from their home and sees it listed, then reads a CSV
file of labels into the form and sends it; a data scientist sees no form."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.ui.browser import needs_chromium as pytestmark  # noqa: F401 (the module's marks)
from tests.ui.conftest import HOSTILE, PROJECT, UiWorld
from tests.ui.feedback_world import feedback_deployment


def test_a_stakeholder_gives_feedback_and_sees_it_listed(
    visit: Any, ui_world: UiWorld, data_world: Any, tmp_path: Path
) -> None:
    dep = feedback_deployment(ui_world, data_world)
    v = visit("stakeholder", width=820)  # a tablet's width
    page = v.page
    section = page.get_by_role("region", name="Feedback on predictions")
    assert section.is_visible()
    v.check("home-feedback")
    section.get_by_label("Deployment", exact=True).select_option(dep)
    section.get_by_label("Prediction id").fill("fb-browser-1")
    section.get_by_label("Right label").fill("churned")
    section.get_by_label("Comment").fill(f"left in March {HOSTILE}")
    section.get_by_role("button", name="Send feedback").click()
    page.wait_for_url(re.compile(rf".*/feedback\?deployment={dep}&recorded=1#given"))
    assert page.get_by_role("status").inner_text().startswith("Your feedback is recorded")
    given = page.get_by_role("table", name=re.compile(f"^Feedback on {dep}"))
    row = given.get_by_role("row", name=re.compile("fb-browser-1"))
    assert "churned" in row.inner_text() and HOSTILE in row.inner_text()  # shown as text
    assert page.evaluate("window.__pwned") is None
    v.check("feedback-given")

    labels = tmp_path / "labels.csv"
    labels.write_text("prediction_id,label\nfb-browser-2,1\nfb-browser-3,0\n")
    page.get_by_label("Or read a CSV file into the box").set_input_files(str(labels))
    box = page.get_by_label("CSV of labels")
    page.wait_for_function("() => document.getElementById('many-csv').value.length > 0")
    assert box.input_value().startswith("prediction_id,label")
    page.get_by_role("button", name="Send all").click()
    page.wait_for_url(re.compile(r".*added=2&replaced=0#given"))
    assert "Feedback on 2 predictions recorded" in page.get_by_role("status").inner_text()
    assert given.get_by_role("row", name=re.compile("fb-browser-3")).is_visible()
    v.check("feedback-csv")


def test_a_data_scientist_reads_feedback_without_a_form(
    visit: Any, ui_world: UiWorld, data_world: Any
) -> None:
    v = visit("data_scientist")
    page = v.page
    page.goto(f"{ui_world.url}/p/{PROJECT}/feedback")
    assert page.get_by_role("heading", name="Feedback on predictions").is_visible()
    assert page.get_by_role("button", name="Send feedback").count() == 0
    assert page.get_by_role("button", name="Send all").count() == 0
    v.check("feedback-read-only")
