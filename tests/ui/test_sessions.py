"""Signing in and out of the web UI over real HTTP: the cookie's flags, CSRF on every form,
sessions that end with sign-out and with their token, and an API that ignores the cookie."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx

from relayml.client.http import HttpBackend
from tests.ui.conftest import PROJECT, UiWorld, csrf_of, sign_in


def test_the_sign_in_page_asks_for_a_token_under_a_strict_policy(ui_world: UiWorld) -> None:
    r = httpx.get(f"{ui_world.url}/login")
    assert r.status_code == 200
    assert '<label for="token">Token</label>' in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"


def test_a_page_without_a_session_sends_the_browser_to_sign_in(ui_world: UiWorld) -> None:
    r = httpx.get(f"{ui_world.url}/p/{PROJECT}/runs?filter=x")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fp%2Fdefault%2Fruns%3Ffilter%3Dx"


def test_signing_in_sets_an_httponly_strict_session_cookie(ui_world: UiWorld) -> None:
    with httpx.Client(base_url=ui_world.url) as c:
        csrf = csrf_of(c.get("/login").text)
        r = c.post(
            "/login",
            data={"csrf": csrf, "token": ui_world.tokens["data_scientist"], "next": "/p/default/"},
        )
        assert r.status_code == 303 and r.headers["location"] == "/p/default/"
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("relay_session="))
        flags = {p.strip().lower() for p in cookie.split(";")}
        assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
        assert any(f.startswith("max-age=") for f in flags)
        home = c.get("/p/default/")
        assert home.status_code == 200 and "dana" in home.text and "data_scientist" in home.text


def test_a_bad_token_is_refused_with_the_reason(ui_world: UiWorld) -> None:
    with httpx.Client(base_url=ui_world.url) as c:
        csrf = csrf_of(c.get("/login").text)
        r = c.post("/login", data={"csrf": csrf, "token": "rly_nope", "next": "/"})
        assert r.status_code == 401
        assert "the token is unknown" in r.text
        assert "relay_session" not in c.cookies


def test_the_sign_in_form_refuses_a_post_from_another_site(ui_world: UiWorld) -> None:
    # no login cookie (a cross-site form cannot send it): refused before the token is looked at
    r = httpx.post(
        f"{ui_world.url}/login",
        data={"csrf": "x", "token": ui_world.tokens["data_scientist"], "next": "/"},
    )
    assert r.status_code == 403 and "relay_session" not in r.headers.get("set-cookie", "")


def test_next_never_leads_to_another_site(ui_world: UiWorld) -> None:
    token = ui_world.tokens["data_scientist"]
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        with httpx.Client(base_url=ui_world.url) as c:
            csrf = csrf_of(c.get("/login").text)
            r = c.post("/login", data={"csrf": csrf, "token": token, "next": target})
            assert r.headers["location"] == "/", target


def test_the_api_refuses_a_call_with_only_the_session_cookie(ui_world: UiWorld) -> None:
    with sign_in(ui_world.url, ui_world.tokens["data_scientist"]) as c:
        assert c.get("/p/default/").status_code == 200
        for method, path in (
            ("GET", "/api/v1/whoami"),
            ("GET", f"/api/v1/runs/{ui_world.runs[0]}"),
        ):
            r = c.request(method, path)
            assert r.status_code == 401, (path, r.text)
        r = c.post("/api/v1/projects", json={"name": "by-cookie"})
        assert r.status_code == 401


def test_signing_out_ends_the_session_for_good(ui_world: UiWorld) -> None:
    with sign_in(ui_world.url, ui_world.tokens["data_scientist"]) as c:
        cookie = c.cookies["relay_session"]
        csrf = csrf_of(c.get("/p/default/").text)
        r = c.post("/logout", data={"csrf": csrf})
        assert r.status_code == 303 and r.headers["location"] == "/login"
    # the old cookie, replayed, no longer opens a page
    replay = httpx.get(f"{ui_world.url}/p/default/", cookies={"relay_session": cookie})
    assert replay.status_code == 303 and replay.headers["location"].startswith("/login")


def test_revoking_the_token_ends_its_sessions(ui_world: UiWorld) -> None:
    admin = HttpBackend(ui_world.url, ui_world.admin_token)
    try:
        issued = admin.identity.issue_token("dana")
        with sign_in(ui_world.url, issued.token) as c:
            assert c.get("/p/default/").status_code == 200
            admin.identity.revoke_token(issued.token_id)
            r = c.get("/p/default/")
            assert r.status_code == 303 and r.headers["location"].startswith("/login")
    finally:
        admin.close()


def test_a_form_without_the_right_csrf_token_is_refused(ui_world: UiWorld) -> None:
    with sign_in(ui_world.url, ui_world.tokens["stakeholder"]) as c:
        page = c.get("/p/default/").text
        good = csrf_of(page)
        url = "/p/default/requirements"
        body = {"model": "churn", "metric": "auc", "min": "0.8"}
        for csrf in (None, "", "0" * 64, good[:-1] + ("0" if good[-1] != "0" else "1")):
            data = {**body, **({"csrf": csrf} if csrf is not None else {})}
            r = c.post(url, data=data)
            assert r.status_code == 403, (csrf, r.text)
            assert "CSRF" in r.text
        # another user's token from their own page does not pass for this session
        with sign_in(ui_world.url, ui_world.tokens["data_scientist"]) as other:
            theirs = csrf_of(other.get("/p/default/").text)
        assert c.post(url, data={**body, "csrf": theirs}).status_code == 403


def test_a_form_must_be_urlencoded_and_small(ui_world: UiWorld) -> None:
    with sign_in(ui_world.url, ui_world.tokens["stakeholder"]) as c:
        csrf = csrf_of(c.get("/p/default/").text)
        r = c.post("/p/default/requirements", json={"csrf": csrf})
        assert r.status_code == 400
        r = c.post("/p/default/requirements", data={"csrf": csrf, "x": "y" * 70_000})
        assert r.status_code == 400 and "larger than" in r.text


def idle_for(world: UiWorld, session_id: str, minutes: float) -> None:
    """Make a session's last activity `minutes` ago, in the server's own database (no waiting)."""
    from sqlalchemy import create_engine, update

    from relayml.services.sessions import session_hash
    from relayml.store.sql import schema as s

    engine = create_engine(f"sqlite:///{world.home / 'relay.db'}")
    try:
        with engine.begin() as conn:
            t = s.ui_sessions
            done = conn.execute(
                update(t)
                .where(t.c.id_hash == session_hash(session_id))
                .values(last_seen_at=datetime.now(UTC) - timedelta(minutes=minutes))
            )
            assert done.rowcount == 1
    finally:
        engine.dispose()


def test_a_session_idle_past_the_limit_sends_the_browser_to_sign_in_and_back(
    ui_world: UiWorld,
) -> None:
    token = ui_world.tokens["data_scientist"]
    target = "/p/default/runs?filter=params.depth+%3E+2"
    with sign_in(ui_world.url, token) as c:
        assert c.get(target).status_code == 200
        idle_for(ui_world, c.cookies["relay_session"], 29)  # within the limit: still in
        csrf = csrf_of(c.get("/p/default/").text)
        assert c.get(target).status_code == 200
        idle_for(ui_world, c.cookies["relay_session"], 32)
        r = c.get(target)
        assert r.status_code == 303
        assert r.headers["location"] == "/login?" + urlencode({"next": target})
        login = c.get(r.headers["location"])
        assert login.status_code == 200
        assert "You were signed out after 30 minutes without activity" in login.text
        assert f'name="next" value="{html.escape(target)}"' in login.text
        # a form sent from a page left open is refused, saying why
        r = c.post("/p/default/requirements", data={"csrf": csrf, "model": "churn"})
        assert r.status_code == 401 and "after 30 minutes without activity" in r.text
        # signing in again goes back where they were, with a fresh strict cookie
        r = c.post("/login", data={"csrf": csrf_of(login.text), "token": token, "next": target})
        assert r.status_code == 303 and r.headers["location"] == target
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("relay_session="))
        flags = {p.strip().lower() for p in cookie.split(";")}
        assert "httponly" in flags and "samesite=strict" in flags
        assert c.get(target).status_code == 200


def test_a_page_that_does_not_exist_is_the_uis_not_found_page(ui_world: UiWorld) -> None:
    hostile = "/p/default/<script>x</script>/%2F..%2Fetc"
    with sign_in(ui_world.url, ui_world.tokens["stakeholder"]) as c:
        page = c.get(hostile, headers={"accept": "text/html"})
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "Not found" in page.text and "<script>x" not in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        api = c.get("/api/v1/no-such-route", headers={"accept": "text/html"})
        assert api.status_code in (401, 404) and api.headers["content-type"].startswith(
            "application/json"
        )
