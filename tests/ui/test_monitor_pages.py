"""Monitors and alerts over real HTTP: the monitor's page carries the report's timeline, drift
per column and alerts; an alert reached from the inbox is acknowledged, commented on and
resolved through its forms by the role that may, refused to one that may not, escaped."""

from __future__ import annotations

import html
from typing import Any

from relayml.reports.monitor_html import body
from tests.ui.conftest import HOSTILE, OTHER, PROJECT, UiWorld, csrf_of, sign_in

ESCAPED = html.escape("<script>window.__pwned=1</script>", quote=False)


def test_the_monitor_page_is_the_report(ui_world: UiWorld, monitor_world: Any) -> None:
    with sign_in(ui_world.url, ui_world.tokens["ml_engineer"]) as c:
        r = c.get(f"/p/{PROJECT}/monitors")
        assert r.status_code == 200 and "churn-watch" in r.text
        r = c.get(f"/p/{PROJECT}/monitors/churn-watch")
        assert r.status_code == 200
        for text in ("Timeline", "Drift per input column", "Model-shift checks", "Live alerts"):
            assert text in r.text, text
        assert 'id="window-5"' in r.text and "x1" in r.text
        assert f"alerts/{monitor_world.alert}" in r.text
        assert "<style>" not in r.text.split("<main", 1)[1]  # the body only, styled by relay.css
    # the same content as relay monitors report --html, from the same service call
    from relayml.client.http import HttpBackend

    b = HttpBackend(ui_world.url, ui_world.tokens["ml_engineer"])
    try:
        report = b.monitors.report(PROJECT, "churn-watch")
    finally:
        b.close()
    assert "Drift per input column" in body(report)


def test_an_alert_from_the_inbox_is_handled_through_its_forms(
    ui_world: UiWorld, monitor_world: Any
) -> None:
    path = f"/p/{PROJECT}/alerts/{monitor_world.alert}"
    with sign_in(ui_world.url, ui_world.tokens["stakeholder"]) as c:
        page = c.get(path)
        assert page.status_code == 200
        assert "Acknowledge" not in page.text and 'name="text"' not in page.text
        for action in ("ack", "comment", "resolve"):
            r = c.post(
                f"{path}/{action}",
                data={"csrf": csrf_of(page.text), "text": "x", "reason": "x", "note": "x"},
            )
            assert r.status_code == 403, action
    with sign_in(ui_world.url, ui_world.tokens["ml_engineer"]) as c:
        home = c.get(f"/p/{PROJECT}/")
        assert f'href="/p/{PROJECT}/alerts/{monitor_world.alert}"' in home.text
        page = c.get(path)
        assert "Acknowledge" in page.text and "Resolve" in page.text
        csrf = csrf_of(page.text)
        assert c.post(f"{path}/ack", data={"csrf": csrf, "note": HOSTILE}).status_code == 303
        again = c.post(f"{path}/ack", data={"csrf": csrf, "note": ""})
        assert again.status_code == 409
        empty = c.post(f"{path}/comment", data={"csrf": csrf, "text": ""})
        assert empty.status_code == 400
        r = c.post(f"{path}/comment", data={"csrf": csrf, "text": f"upstream {HOSTILE}"})
        assert r.status_code == 303 and r.headers["location"].endswith("#notes")
        page = c.get(path)
        assert "<script>window.__pwned" not in page.text and ESCAPED in page.text
        assert "acknowledged" in page.text
        assert c.post(f"{path}/resolve", data={"csrf": csrf}).status_code == 400
        r = c.post(f"{path}/resolve", data={"csrf": csrf, "reason": "rescaled upstream"})
        assert r.status_code == 303
        page = c.get(path)
        assert "rescaled upstream" in page.text and "Resolve</button>" not in page.text
        assert monitor_world.alert not in c.get(f"/p/{PROJECT}/alerts").text
        assert monitor_world.alert in c.get(f"/p/{PROJECT}/alerts?resolved=1").text


def test_other_projects_alerts_and_monitors_are_refused(
    ui_world: UiWorld, monitor_world: Any
) -> None:
    with sign_in(ui_world.url, ui_world.tokens["ml_engineer"]) as c:
        assert c.get(f"/p/{OTHER}/monitors").status_code == 403
        assert c.get(f"/p/{OTHER}/alerts/{monitor_world.alert}").status_code == 403
    with sign_in(ui_world.url, ui_world.admin_token) as c:
        assert c.get(f"/p/{OTHER}/alerts/{monitor_world.alert}").status_code == 404
        assert c.get(f"/p/{OTHER}/monitors/churn-watch").status_code == 404
