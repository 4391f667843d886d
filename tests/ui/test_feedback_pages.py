"""Feedback on predictions in the UI, over real HTTP: a stakeholder gives it on one prediction
and as a pasted CSV and sees it listed (their text escaped); a role without feedback.submit sees
no form, and its forged form is refused by the service; a form without the session's CSRF token
is refused; the CSV form takes a file's worth of text, not unbounded."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.ui.conftest import HOSTILE, PROJECT, UiWorld, csrf_of, sign_in
from tests.ui.feedback_world import feedback_deployment

PAGE = f"/p/{PROJECT}/feedback"


@pytest.fixture(scope="module")
def dep(ui_world: UiWorld, data_world: Any) -> str:
    return feedback_deployment(ui_world, data_world)


def test_a_stakeholder_gives_feedback_on_one_prediction_and_sees_it_listed(
    ui_world: UiWorld, dep: str
) -> None:
    with sign_in(ui_world.url, ui_world.tokens["stakeholder"]) as c:
        home = c.get(f"/p/{PROJECT}/")
        assert "Feedback on predictions" in home.text and "Send feedback" in home.text
        form = {
            "csrf": csrf_of(home.text),
            "deployment": dep,
            "prediction_id": "fb-one",
            "label": "0",
            "outcome": "",
            "comment": f"paid late {HOSTILE}",
        }
        r = c.post(PAGE, data=form)
        assert r.status_code == 303 and r.headers["location"].endswith("recorded=1#given")
        page = c.get(r.headers["location"])
        assert "Your feedback is recorded" in page.text
        assert "<code>fb-one</code>" in page.text
        assert "paid late &lt;script&gt;" in page.text and "<script>window" not in page.text
        again = c.post(PAGE, data=form)  # one feedback per prediction, unless replaced
        assert again.status_code == 409 and "already has feedback" in again.text
        r = c.post(PAGE, data={**form, "label": "1", "replace": "1"})
        assert r.status_code == 303
        # the stakeholder's home lists the newest feedback across deployments
        assert "fb-one" in c.get(f"/p/{PROJECT}/").text


def test_a_stakeholder_sends_a_csv_of_labels_all_or_nothing(ui_world: UiWorld, dep: str) -> None:
    with sign_in(ui_world.url, ui_world.tokens["stakeholder"]) as c:
        csrf = csrf_of(c.get(PAGE).text)
        rows = "\n".join(f"fb-csv-{i},{i % 2},row {i}" for i in range(3000))  # > 64 KB
        text = "prediction_id,label,comment\n" + rows + "\n"
        assert len(text) > 64 * 1024
        form = {"csrf": csrf, "deployment": dep, "csv": text}
        r = c.post(f"{PAGE}/batch", data=form)
        assert r.status_code == 303, r.text[:500]
        page = c.get(r.headers["location"])
        assert "Feedback on 3000 predictions recorded (3000 new, 0 replaced)" in page.text
        # a row already labelled refuses the whole batch, naming it
        clash = "prediction_id,label\nfb-csv-new,1\nfb-csv-7,0\n"
        r = c.post(f"{PAGE}/batch", data={**form, "csv": clash})
        assert r.status_code == 409 and "fb-csv-7" in r.text
        listed = c.get(PAGE, params={"deployment": dep}).text
        assert "fb-csv-new" not in listed
        bad = c.post(f"{PAGE}/batch", data={**form, "csv": "id,label\nx,1\n"})
        assert bad.status_code == 400 and "it needs prediction_id" in bad.text
        huge = c.post(f"{PAGE}/batch", data={**form, "csv": "x" * (3 * 1024 * 1024)})
        assert huge.status_code == 400 and "larger than" in huge.text


def test_a_role_without_feedback_submit_sees_no_form_and_a_forged_one_is_refused(
    ui_world: UiWorld, dep: str
) -> None:
    with sign_in(ui_world.url, ui_world.tokens["data_scientist"]) as c:
        page = c.get(PAGE)
        assert page.status_code == 200
        assert "Send feedback" not in page.text and "Send all" not in page.text
        listed = c.get(PAGE, params={"deployment": dep}).text
        assert f"Feedback on {dep}, newest first" in listed  # everyone reads feedback
        nav = page.text.split('aria-label="Areas"')[1].split("</nav>")[0]
        assert ">Feedback<" not in nav
        form = {
            "csrf": csrf_of(page.text),
            "deployment": dep,
            "prediction_id": "fb-forged",
            "label": "1",
        }
        r = c.post(PAGE, data=form)
        assert r.status_code == 403 and "feedback.submit" in r.text
        r = c.post(f"{PAGE}/batch", data={**form, "csv": "prediction_id,label\nfb-forged,1\n"})
        assert r.status_code == 403 and "feedback.submit" in r.text
    with sign_in(ui_world.url, ui_world.tokens["stakeholder"]) as c:
        assert "fb-forged" not in c.get(PAGE, params={"deployment": dep}).text


def test_a_feedback_form_without_the_sessions_csrf_token_is_refused(
    ui_world: UiWorld, dep: str
) -> None:
    with sign_in(ui_world.url, ui_world.tokens["stakeholder"]) as c:
        form = {"deployment": dep, "prediction_id": "fb-csrf", "label": "1"}
        assert c.post(PAGE, data=form).status_code == 403
        assert c.post(PAGE, data={**form, "csrf": "forged"}).status_code == 403
    r = httpx.post(f"{ui_world.url}{PAGE}", data=form, follow_redirects=False)
    assert r.status_code in (303, 401, 403)  # no session: never recorded
    with sign_in(ui_world.url, ui_world.tokens["stakeholder"]) as c:
        assert "fb-csrf" not in c.get(PAGE, params={"deployment": dep}).text
