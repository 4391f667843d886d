"""The pages over real HTTP: user text always escaped, other projects refused, each role's home,
and the runs table's filter, sort, columns and paging."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import httpx
import pytest

from tests.ui.conftest import HOSTILE, OTHER, PROJECT, UiWorld, csrf_of, sign_in


def _pages(world: UiWorld) -> list[str]:
    a, b = world.runs[0], world.runs[1]
    return [
        f"/p/{PROJECT}/",
        f"/p/{PROJECT}/runs",
        f"/p/{PROJECT}/runs?col=param:note&col=tag:team&col=metric:auc&cols=1",
        f"/p/{PROJECT}/runs/{a}",
        f"/p/{PROJECT}/compare?run={a}&run={b}",
        f"/p/{PROJECT}/runs?filter=" + quote(f"params.note = '{HOSTILE}'"),
        f"/p/{PROJECT}/runs?filter=" + quote(HOSTILE),  # a filter that does not parse
    ]


@pytest.mark.parametrize("role", ["data_scientist", "stakeholder"])
def test_user_text_is_always_escaped(ui_world: UiWorld, role: str) -> None:
    with sign_in(ui_world.url, ui_world.tokens[role]) as c:
        for path in _pages(ui_world):
            r = c.get(path)
            assert r.status_code == 200, (path, r.text[-500:])
            body = r.text
            assert "<script>window.__pwned" not in body, path
            assert "<img src=x" not in body, path
            if "filter=" not in path and path != f"/p/{PROJECT}/":  # these show the runs
                assert html.escape("<script>window.__pwned=1</script>", quote=False) in body, path


def test_another_projects_pages_are_refused(ui_world: UiWorld) -> None:
    with sign_in(ui_world.url, ui_world.tokens["data_scientist"]) as c:
        r = c.get(f"/p/{OTHER}/")
        assert r.status_code == 403 and "holds" in r.text
        assert c.get(f"/p/{OTHER}/runs").status_code == 403
        # the other project's run, through this project's pages: refused by its own project
        assert c.get(f"/p/{PROJECT}/runs/{ui_world.other_run}").status_code == 403
        r = c.get(f"/p/{PROJECT}/compare?run={ui_world.runs[0]}&run={ui_world.other_run}")
        assert r.status_code == 403
        assert c.get(f"/switch?project={OTHER}").status_code == 404
    with sign_in(ui_world.url, ui_world.admin_token) as c:
        # an admin may read it, but not as this project's run
        assert c.get(f"/p/{PROJECT}/runs/{ui_world.other_run}").status_code == 404
        assert c.get(f"/p/{OTHER}/runs/{ui_world.other_run}").status_code == 200


def test_each_role_lands_on_its_own_home(ui_world: UiWorld) -> None:
    expected = {
        "data_engineer": ["Inbox", "Datasets and their contracts", "Failing pipeline runs"],
        "data_scientist": ["Inbox", "Recent runs", "Best results"],
        "ml_engineer": ["Inbox", "Deployments"],
        "model_governance": ["Inbox", "Pending approvals", "Audit trail", "chain verifies"],
        "stakeholder": ["Inbox", "Your models, in plain words"],
    }
    for role, sections in expected.items():
        with sign_in(ui_world.url, ui_world.tokens[role]) as c:
            r = c.get("/", follow_redirects=True)
            assert r.url.path == f"/p/{PROJECT}/", role
            for text in sections:
                assert text in r.text, (role, text)
            main = r.text[r.text.index("<main") :]  # the nav names areas too
            assert main.index("Inbox") < main.index(sections[1]), role


def test_the_runs_table_filters_sorts_and_pages(ui_world: UiWorld) -> None:
    with sign_in(ui_world.url, ui_world.tokens["data_scientist"]) as c:
        base = f"/p/{PROJECT}/runs"
        r = c.get(base, params={"filter": "metrics.auc > 1.0", "cols": "1", "col": "metric:auc"})
        shown = r.text.count('name="run"')
        assert shown == 3  # runs 1..3 end above 1.0 (0.6 + 0.39 * (i + 1))
        r = c.get(base, params={"sort": "metric:auc desc", "limit": "25", "col": "metric:auc"})
        order = [r.text.index(f"run-{i} ") for i in (3, 2, 1, 0)]
        assert order == sorted(order)
        assert 'aria-sort="descending"' in r.text
        # keyset paging: 30 runs of the sweep, 25 a page
        seen: list[str] = []
        r = c.get(base, params={"experiment": "sweep", "limit": "25", "sort": "param:i asc"})
        seen += re.findall(r'name="run" value="([0-9a-f]{32})"', r.text)
        following = re.search(r'<a href="([^"]+)" rel="next">', r.text)
        assert following and len(seen) == 25
        r = c.get(html.unescape(following.group(1)))
        seen += re.findall(r'name="run" value="([0-9a-f]{32})"', r.text)
        assert len(seen) == len(set(seen)) == 30 and 'rel="next"' not in r.text
        assert "First page" in r.text
        r = c.get(base, params={"limit": "7"})
        assert r.status_code == 400 and "rows per page" in r.text
        r = c.get(base, params={"filter": "metrics.auc >>"})
        assert r.status_code == 200 and "at position" in r.text


def test_compare_needs_two_to_ten_runs(ui_world: UiWorld) -> None:
    with sign_in(ui_world.url, ui_world.tokens["data_scientist"]) as c:
        r = c.get(f"/p/{PROJECT}/compare", params={"run": ui_world.runs[0]})
        assert r.status_code == 400 and "pick 2 to 10 runs" in r.text
        r = c.get(f"/p/{PROJECT}/compare", params={"run": ui_world.runs, "diff": "1"})
        assert r.status_code == 200
        assert "Parallel coordinates" in r.text and "<polyline" in r.text
        assert 'class="diff"' in r.text


def test_static_files_come_from_the_wheel(ui_world: UiWorld) -> None:
    for name in ("relay.css", "relay.js", "charts.js", "vendor/plotly.min.js"):
        r = httpx.get(f"{ui_world.url}/static/{name}")
        assert r.status_code == 200 and r.headers["etag"], name
        again = httpx.get(
            f"{ui_world.url}/static/{name}", headers={"if-none-match": r.headers["etag"]}
        )
        assert again.status_code == 304
    assert httpx.get(f"{ui_world.url}/static/../../etc/passwd").status_code == 404
    assert httpx.get(f"{ui_world.url}/static/templates/base.html").status_code == 404


def test_static_files_are_gzipped_for_a_browser_that_accepts_it(ui_world: UiWorld) -> None:
    url = f"{ui_world.url}/static/vendor/plotly.min.js"
    plain = httpx.get(url, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    packed = httpx.get(url, headers={"accept-encoding": "gzip, deflate, br"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert int(packed.headers["content-length"]) < len(plain.content) / 2
    assert packed.content == plain.content  # httpx decodes it: the same file
    assert packed.headers["etag"] != plain.headers["etag"]
    again = httpx.get(url, headers={"if-none-match": packed.headers["etag"]})
    assert again.status_code == 304
    refused = httpx.get(url, headers={"accept-encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers


def test_governance_filters_the_trail_and_verifies_the_chain(ui_world: UiWorld) -> None:
    with sign_in(ui_world.url, ui_world.tokens["model_governance"]) as c:
        page = c.get(f"/p/{PROJECT}/audit", params={"action": "run.create", "actor": "dana"})
        assert page.status_code == 200 and page.text.count("<code>run.create</code>") >= 4
        none = c.get(f"/p/{PROJECT}/audit", params={"since": "2999-01-01T00:00"})
        assert "No events match." in none.text
        bad = c.get(f"/p/{PROJECT}/audit", params={"action": "run.explode"})
        assert bad.status_code == 400 and "run.create" in bad.text  # lists the valid ones
        r = c.post(f"/p/{PROJECT}/audit/verify", data={"csrf": csrf_of(page.text)})
        assert r.status_code == 200 and "The audit chain verifies" in r.text
    with sign_in(ui_world.url, ui_world.tokens["data_scientist"]) as c:
        assert c.get(f"/p/{PROJECT}/audit").status_code == 403
        assert "Audit" not in c.get(f"/p/{PROJECT}/").text.split("</nav>")[0]


def test_only_the_policy_approvers_see_and_use_approve(ui_world: UiWorld) -> None:
    request_id = ui_world.extra["request"]
    url = f"/p/{PROJECT}/registry?request={request_id}"
    with sign_in(ui_world.url, ui_world.tokens["stakeholder"]) as c:
        page = c.get(url)
        assert page.status_code == 200 and "Promote churn@1 to production" in page.text
        assert ">Approve<" not in page.text and ">Reject<" not in page.text
        forged = c.post(
            f"/p/{PROJECT}/requests/{request_id}/approve", data={"csrf": csrf_of(page.text)}
        )
        assert forged.status_code == 403 and "promotion.approve needs" in forged.text
    with sign_in(ui_world.url, ui_world.tokens["data_scientist"]) as c:
        page = c.get(url)
        assert ">Approve<" not in page.text  # not an approver (and the requester besides)
        forged = c.post(
            f"/p/{PROJECT}/requests/{request_id}/reject",
            data={"csrf": csrf_of(page.text), "reason": "mine"},
        )
        assert forged.status_code == 403
    with sign_in(ui_world.url, ui_world.tokens["model_governance"]) as c:
        home = c.get(f"/p/{PROJECT}/").text
        assert f"request={request_id}" in home  # in governance's inbox
        assert ">Approve<" in c.get(url).text


def test_the_model_page_shows_versions_aliases_and_their_history(ui_world: UiWorld) -> None:
    with sign_in(ui_world.url, ui_world.tokens["stakeholder"]) as c:
        registry = c.get(f"/p/{PROJECT}/registry").text
        assert f'href="/p/{PROJECT}/models/churn"' in registry
        page = c.get(f"/p/{PROJECT}/models/churn")
        assert page.status_code == 200, page.text[-500:]
        body = page.text
        assert "Model churn" in body and "sklearn" in body and "x1, x2" in body
        assert "<code>candidate</code> → version 1" in body  # the alias now
        history = body.split("Alias history")[1]
        assert "<code>candidate</code>" in history and ">direct<" in history
        escaped = html.escape("<script>window.__pwned=1</script>", quote=False)
        assert "first try " + escaped in history
        assert "<script>window.__pwned" not in body and "<img src=x" not in body
        assert c.get(f"/p/{PROJECT}/models/nosuch").status_code == 404
        assert c.get(f"/p/{OTHER}/models/churn").status_code == 403
