"""Pausing, resuming and archiving a monitor from its page over real HTTP: an ML engineer's
forms (CSRF, a reason, back to the page), a stakeholder who sees none and whose forged form the
service refuses, and hostile text shown as text."""

from __future__ import annotations

import html
from typing import Any

from relayml.client.http import HttpBackend
from tests.ui.conftest import HOSTILE, PROJECT, UiWorld, csrf_of, sign_in

PAGE = f"/p/{PROJECT}/monitors/churn-watch"


def _status(world: UiWorld, name: str = "churn-watch") -> str:
    b = HttpBackend(world.url, world.admin_token)
    try:
        return b.monitors.get(PROJECT, name).status.value
    finally:
        b.close()


def test_an_ml_engineer_pauses_and_resumes_a_monitor_with_a_reason(
    ui_world: UiWorld, monitor_world: Any
) -> None:
    with sign_in(ui_world.url, ui_world.tokens["ml_engineer"]) as c:
        page = c.get(PAGE)
        assert page.status_code == 200
        assert f'action="{PAGE}/pause"' in page.text and f'action="{PAGE}/resume"' not in page.text
        assert f'action="{PAGE}/archive"' in page.text and "data-confirm=" in page.text
        csrf = csrf_of(page.text)
        for bad in ({"reason": "x"}, {"reason": "x", "csrf": "0" * 64}):
            r = c.post(f"{PAGE}/pause", data=bad)
            assert r.status_code == 403 and "CSRF" in r.text
        assert _status(ui_world) == "active"
        r = c.post(f"{PAGE}/pause", data={"csrf": csrf, "reason": "  "})
        assert r.status_code == 400 and "reason needs text" in r.text
        r = c.post(f"{PAGE}/pause", data={"csrf": csrf, "reason": f"upstream outage {HOSTILE}"})
        assert r.status_code == 303 and r.headers["location"] == f"{PAGE}#status"
        assert _status(ui_world) == "paused"
        page = c.get(PAGE)
        assert "Paused: upstream outage" in page.text
        assert "<script>window.__pwned" not in page.text
        assert html.escape("<script>window.__pwned=1</script>", quote=False) in page.text
        assert f'action="{PAGE}/resume"' in page.text and f'action="{PAGE}/pause"' not in page.text
        again = c.post(f"{PAGE}/pause", data={"csrf": csrf, "reason": "twice"})
        assert again.status_code == 409 and "paused already" in again.text
        r = c.post(f"{PAGE}/resume", data={"csrf": csrf, "reason": "feed is back"})
        assert r.status_code == 303
        assert _status(ui_world) == "active"
        assert f'action="{PAGE}/pause"' in c.get(PAGE).text


def test_a_stakeholder_sees_no_controls_and_a_forged_form_is_refused(
    ui_world: UiWorld, monitor_world: Any
) -> None:
    with sign_in(ui_world.url, ui_world.tokens["stakeholder"]) as c:
        page = c.get(PAGE)
        assert page.status_code == 200 and 'method="post"' not in page.text.split("<main", 1)[1]
        csrf = csrf_of(page.text)  # the sign-out form's: a valid token of this session
        for action in ("pause", "resume", "archive"):
            r = c.post(f"{PAGE}/{action}", data={"csrf": csrf, "reason": "forged"})
            assert r.status_code == 403, (action, r.text)
            assert "monitor.manage" in r.text
    assert _status(ui_world) == "active"


def test_archiving_asks_first_and_leaves_a_monitor_that_takes_no_changes(
    ui_world: UiWorld, monitor_world: Any
) -> None:
    mle = HttpBackend(ui_world.url, ui_world.tokens["ml_engineer"])
    try:
        mle.monitors.create(
            PROJECT, "churn-api", name="churn-spare", window="1h", reference="churn-train@1"
        )
    finally:
        mle.close()
    path = f"/p/{PROJECT}/monitors/churn-spare"
    with sign_in(ui_world.url, ui_world.tokens["ml_engineer"]) as c:
        page = c.get(path)
        assert 'data-confirm="Archive monitor churn-spare?' in page.text
        r = c.post(f"{path}/archive", data={"csrf": csrf_of(page.text), "reason": "replaced"})
        assert r.status_code == 303 and r.headers["location"] == f"{path}#status"
        page = c.get(path)
        assert "Archived: replaced." in page.text
        assert 'method="post"' not in page.text.split("<main", 1)[1]
        r = c.post(f"{path}/resume", data={"csrf": csrf_of(page.text), "reason": "oops"})
        assert r.status_code == 409 and "archived" in r.text
    assert _status(ui_world, "churn-spare") == "archived"


def test_a_hostile_monitor_name_in_the_address_is_shown_as_text(
    ui_world: UiWorld, monitor_world: Any
) -> None:
    hostile = "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"  # no '/': it must reach the page
    with sign_in(ui_world.url, ui_world.tokens["ml_engineer"]) as c:
        csrf = csrf_of(c.get(PAGE).text)
        for r in (
            c.get(f"/p/{PROJECT}/monitors/{hostile}"),
            c.post(f"/p/{PROJECT}/monitors/{hostile}/pause", data={"csrf": csrf, "reason": "x"}),
        ):
            assert r.status_code in (400, 404), r.text
            assert r.headers["content-type"].startswith("text/html")
            assert "<img src=x" not in r.text and "&lt;img src=x onerror=alert(1)&gt;" in r.text


def test_a_deployments_page_lists_the_monitors_watching_it(
    ui_world: UiWorld, monitor_world: Any
) -> None:
    from tests.ui.feedback_world import feedback_deployment

    admin = HttpBackend(ui_world.url, ui_world.admin_token)
    mle = HttpBackend(ui_world.url, ui_world.tokens["ml_engineer"])
    try:
        for name in ("churn-quiet", "churn-gone"):
            mle.monitors.create(
                PROJECT, "churn-api", name=name, window="1h", reference="churn-train@1"
            )
        mle.monitors.pause(PROJECT, "churn-quiet", reason=f"noisy {HOSTILE}")
        mle.monitors.archive(PROJECT, "churn-gone", reason="replaced")
        live = len(admin.monitors.list_alerts(PROJECT, monitor="churn-watch"))
        bare = feedback_deployment(ui_world, None)  # a deployment no monitor watches
    finally:
        admin.close()
        mle.close()
    assert live > 0
    for role in ("ml_engineer", "stakeholder"):
        with sign_in(ui_world.url, ui_world.tokens[role]) as c:
            page = c.get(f"/p/{PROJECT}/deployments/churn-api").text
            section = page.split('<h2 id="monitors">Monitors</h2>', 1)[1].split("<h2>History", 1)
            rows = section[0]
            assert f'<a href="{PAGE}">churn-watch</a>' in rows, role
            watch = rows.split(f'<a href="{PAGE}">churn-watch</a>', 1)[1].split("</tr>", 1)[0]
            assert "status-active" in watch and f'<td class="num">{live}</td>' in watch
            quiet = rows.split("churn-quiet</a>", 1)[1].split("</tr>", 1)[0]
            assert "status-paused" in quiet and '<td class="num">0</td>' in quiet
            assert "<script>window.__pwned" not in page and "noisy &lt;script&gt;" in quiet
            assert "churn-gone" not in rows  # archived: on the monitors page's full list only
            other = c.get(f"/p/{PROJECT}/deployments/{bare}").text
            assert "No monitor watches it." in other
