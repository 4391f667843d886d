"""Data, pipelines, drift and deployments pages over real HTTP: hostile user text escaped on
every page, write controls only for the roles that may, forged and cross-project requests
refused by the services, and the drift page showing what relay.drift.compare computes."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest

from relayml.client.http import HttpBackend
from tests.ui.conftest import HOSTILE, OTHER, PROJECT, UiWorld, csrf_of, sign_in

ESCAPED = html.escape("<script>window.__pwned=1</script>", quote=False)


def _pages(data: Any) -> list[str]:
    p = f"/p/{PROJECT}"
    return [
        f"{p}/datasets",
        f"{p}/datasets/loans",
        f"{p}/datasets/loans/1",
        f"{p}/datasets/loans/2",
        f"{p}/datasets/loans/3",
        f"{p}/datasets/features/1",
        f"{p}/contracts",
        f"{p}/pipelines",
        f"{p}/pipelines/prep",
        f"{p}/pipeline-runs/{data.failed_run}",
        f"{p}/pipeline-runs/{data.good_run}",
        f"{p}/drift?reference=loans@1&current=loans@2",
        f"{p}/deployments",
        f"{p}/deployments/churn-api",
    ]


def _clean(path: str, body: str) -> None:
    assert "<script>window.__pwned" not in body, path
    assert "<img src=x" not in body, path


@pytest.mark.parametrize("role", ["data_engineer", "ml_engineer", "stakeholder"])
def test_every_page_escapes_user_text(ui_world: UiWorld, data_world: Any, role: str) -> None:
    with sign_in(ui_world.url, ui_world.tokens[role]) as c:
        for path in _pages(data_world):
            r = c.get(path)
            if role == "stakeholder" and ("/pipeline" in path or "/contracts" in path):
                assert r.status_code in (200, 403), (path, r.status_code)
            else:
                assert r.status_code == 200, (path, r.text[-800:])
            _clean(path, r.text)
        r = c.get(f"/p/{PROJECT}/datasets/loans/1")
        if r.status_code == 200:
            assert ESCAPED in r.text  # the description, the source
        contract = re.search(r"/contracts/([0-9a-f]{64})", r.text)
        if contract and role == "data_engineer":
            page = c.get(f"/p/{PROJECT}/contracts/{contract.group(1)}")
            assert page.status_code == 200
            _clean("contract", page.text)
            assert ESCAPED in page.text  # the YAML's comment, shown as text


def test_a_version_page_shows_profile_quality_and_lineage(
    ui_world: UiWorld, data_world: Any
) -> None:
    with sign_in(ui_world.url, ui_world.tokens["data_engineer"]) as c:
        r = c.get(f"/p/{PROJECT}/datasets/loans/2")
        assert r.status_code == 200
        text = r.text
        assert "quarantined" in text and "grade.allowed" in text
        assert 'class="bars"' in text and "the numbers as a table" in text
        assert "Failing rows" in text and "example rows" in text
        assert "Compare with" in text and 'value="loans@1"' in text
        r = c.get(f"/p/{PROJECT}/datasets/features/1")
        # dataset → pipeline run → dataset → run → model
        for kind in ("g-dataset", "g-pipeline_run", "g-run", "g-model"):
            assert kind in r.text, kind
        assert "churn@2" in r.text and "loans@1" in r.text and "prep" in r.text
        assert "on features" in r.text


def test_status_actions_are_only_for_roles_that_may(ui_world: UiWorld, data_world: Any) -> None:
    path = f"/p/{PROJECT}/datasets/loans/2"
    with sign_in(ui_world.url, ui_world.tokens["stakeholder"]) as c:
        page = c.get(path)
        assert page.status_code == 200
        assert 'name="action"' not in page.text and "Reason (kept" not in page.text
        forged = c.post(
            f"{path}/status",
            data={"csrf": csrf_of(page.text), "action": "release", "reason": "forged"},
        )
        assert forged.status_code == 403
    with sign_in(ui_world.url, ui_world.tokens["data_engineer"]) as c:
        page = c.get(path)
        assert 'value="release"' in page.text and 'value="quarantine"' not in page.text
        no_csrf = c.post(f"{path}/status", data={"action": "release", "reason": "x"})
        assert no_csrf.status_code == 403
        empty = c.post(
            f"{path}/status", data={"csrf": csrf_of(page.text), "action": "release", "reason": " "}
        )
        assert empty.status_code == 400
        r = c.post(
            f"{path}/status",
            data={"csrf": csrf_of(page.text), "action": "release", "reason": f"ok {HOSTILE}"},
        )
        assert r.status_code == 303 and r.headers["location"].endswith("/datasets/loans/2#status")
        page = c.get(path)
        assert "Released" in page.text and ESCAPED in page.text
        assert 'value="quarantine"' in page.text and 'value="release"' not in page.text
        r = c.post(
            f"{path}/status",
            data={"csrf": csrf_of(page.text), "action": "quarantine", "reason": "again"},
        )
        assert r.status_code == 303
        again = c.post(
            f"{path}/status",
            data={"csrf": csrf_of(page.text), "action": "quarantine", "reason": "twice"},
        )
        assert again.status_code == 409 and "quarantined already" in again.text


def test_the_drift_page_is_relay_drift_compare(ui_world: UiWorld, data_world: Any) -> None:
    import relayml.drift as drift

    backend = HttpBackend(ui_world.url, ui_world.tokens["data_engineer"])
    try:
        expected = drift.compare("scores@1", "scores@2", backend=backend, project=PROJECT)
    finally:
        backend.close()
    assert expected.drifted  # the amount moved
    with sign_in(ui_world.url, ui_world.tokens["data_engineer"]) as c:
        r = c.get(f"/p/{PROJECT}/drift", params={"reference": "scores@1", "current": "scores@2"})
        assert r.status_code == 200
        for col in expected.columns.values():
            assert html.escape(col.reason) in r.text, col.name
        assert f"{len(expected.drifted)} of {len(expected.columns)} columns" in r.text
        assert "id-like" in r.text  # the id column is skipped, as relay.drift skips it
        download = c.get(
            f"/p/{PROJECT}/drift.html", params={"reference": "scores@1", "current": "scores@2"}
        )
        assert download.status_code == 200
        assert "attachment" in download.headers["content-disposition"]
        assert html.escape(expected.columns["amount"].reason) in download.text
        bad = c.get(f"/p/{PROJECT}/drift", params={"reference": "loans", "current": "loans@2"})
        assert bad.status_code == 400 and "name the reference version" in bad.text
        hidden = c.get(
            f"/p/{PROJECT}/drift",
            params={"reference": data_world.other_dataset, "current": "loans@1"},
        )
        assert hidden.status_code == 404


def test_other_projects_are_refused(ui_world: UiWorld, data_world: Any) -> None:
    with sign_in(ui_world.url, ui_world.tokens["data_engineer"]) as c:
        assert c.get(f"/p/{OTHER}/datasets").status_code == 403
        assert c.get(f"/p/{OTHER}/datasets/secret/1").status_code == 403
        assert c.get(f"/p/{OTHER}/deployments").status_code == 403
        assert c.get(f"/p/{OTHER}/pipelines").status_code == 403
        page = c.get(f"/p/{PROJECT}/datasets")
        r = c.post(
            f"/p/{OTHER}/datasets/secret/1/status",
            data={"csrf": csrf_of(page.text), "action": "quarantine", "reason": "x"},
        )
        assert r.status_code == 403
    with sign_in(ui_world.url, ui_world.admin_token) as c:
        # a pipeline run of this project is not another project's
        assert c.get(f"/p/{OTHER}/pipeline-runs/{data_world.failed_run}").status_code == 404
        assert c.get(f"/p/{OTHER}/datasets/secret/1").status_code == 200


def test_pipeline_run_page_shows_steps_retries_and_logs(ui_world: UiWorld, data_world: Any) -> None:
    with sign_in(ui_world.url, ui_world.tokens["data_engineer"]) as c:
        r = c.get(f"/p/{PROJECT}/pipelines")
        assert r.status_code == 200
        runs = r.text[r.text.index('id="runs"') :]  # failing first
        assert runs.index(data_world.failed_run[:12]) < runs.index(data_world.good_run[:12])
        r = c.get(f"/p/{PROJECT}/pipeline-runs/{data_world.failed_run}")
        assert "2 retries" in r.text and "skipped" in r.text
        assert html.escape("reading <script>", quote=False) in r.text  # the log, as text
        log = c.get(f"/p/{PROJECT}/pipeline-runs/{data_world.failed_run}/logs/clean")
        assert log.status_code == 200 and log.headers["content-type"].startswith("text/plain")
        assert log.headers["x-content-type-options"] == "nosniff"
        r = c.get(f"/p/{PROJECT}/pipeline-runs/{data_world.good_run}")
        assert "features@1" in r.text and "1 retry" in r.text
        r = c.get(f"/p/{PROJECT}/pipelines", params={"state": "<x>"})
        assert r.status_code == 400


def test_deployment_actions_for_roles_that_may(ui_world: UiWorld, data_world: Any) -> None:
    path = f"/p/{PROJECT}/deployments/churn-api"
    with sign_in(ui_world.url, ui_world.tokens["stakeholder"]) as c:
        page = c.get(path)
        assert page.status_code == 200
        assert "Set traffic" not in page.text and "Roll back" not in page.text
        for action in ("traffic", "promote-canary", "rollback"):
            r = c.post(f"{path}/{action}", data={"csrf": csrf_of(page.text), "reason": "forged"})
            assert r.status_code == 403, action
    with sign_in(ui_world.url, data_world.devops_token) as c:
        page = c.get(path)
        assert "Roll back" in page.text and "Set traffic" not in page.text
        assert "Promote canary" not in page.text
        r = c.post(f"{path}/traffic", data={"csrf": csrf_of(page.text), "reason": "forged"})
        assert r.status_code == 403
    with sign_in(ui_world.url, ui_world.tokens["ml_engineer"]) as c:
        home = c.get(f"/p/{PROJECT}/")
        assert "Monitors" in home.text and 'href="/p/default/deployments/churn-api"' in home.text
        page = c.get(path)
        text = page.text
        assert "canary" in text and "churn@2" in text and "20 %" in text
        assert "Set traffic" in text and "Promote canary" in text and "Roll back" in text
        assert "4 feedback records: 4 with a label" in text
        r = c.post(
            f"{path}/traffic",
            data={
                "csrf": csrf_of(text),
                "canary": "churn@2",
                "canary_percent": "lots",
                "reason": "x",
            },
        )
        assert r.status_code == 400 and "not a number" in r.text
        r = c.post(
            f"{path}/traffic",
            data={
                "csrf": csrf_of(text),
                "canary": "churn@2",
                "canary_percent": "35",
                "reason": "y",
            },
        )
        assert r.status_code == 303
        page = c.get(path)
        assert "35 %" in page.text and "set traffic" in page.text
        r = c.post(f"{path}/rollback", data={"csrf": csrf_of(text), "reason": f"bad {HOSTILE}"})
        assert r.status_code == 303
        page = c.get(path)
        _clean(path, page.text)
        assert "rollback" in page.text and ESCAPED in page.text
        assert "Promote canary" not in page.text  # the rollback cleared the canary


def test_static_pages_need_a_session(ui_world: UiWorld) -> None:
    r = httpx.get(f"{ui_world.url}/p/{PROJECT}/datasets", follow_redirects=False)
    assert r.status_code == 303 and "/login" in r.headers["location"]
