"""Signing in with a token, and out.

The sign-in form is itself protected against CSRF (so another site cannot sign a browser in as
someone else): GET /login sets a random `relay_login` cookie and puts the same value in the
form; POST /login refuses a form whose value differs. A good token opens a session
(`SessionService.sign_in`) whose random id goes into the `relay_session` cookie: HttpOnly (no
script reads it), SameSite=Strict (no other site's page or link sends it; a link from an e-mail
lands on this page first and comes back after signing in), Secure when served over https, and
gone when the session ends. A browser sent here with a session that ended (idle, expired,
revoked) is told why above the form. The /api/v1 gate never reads it: the API takes bearer
tokens only.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from relayml.errors import PermissionDenied, RelayError, Unauthenticated
from relayml.services import Services
from relayml.services.sessions import csrf_matches
from relayml.ui.render import render
from relayml.ui.web import SESSION_COOKIE, error_page, read_form, safe_next, secure
from relayml.version import __version__

LOGIN_COOKIE = "relay_login"


def _login_page(
    request: Request, next_url: str, message: str = "", status: int = 200, note: str = ""
) -> Response:
    nonce = secrets.token_urlsafe(24)
    values: dict[str, Any] = {
        "ctx": None,
        "who": None,
        "project": "",
        "roles": [],
        "nav": [],
        "csrf": nonce,
        "version": __version__,
        "path": "/login",
        "next": next_url,
        "message": message,
        "note": note[:1].upper() + note[1:],
    }
    response = HTMLResponse(render("login.html", values), status_code=status)
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return secure(response)


def routes(services_of: Any) -> list[Route]:
    async def login_form(request: Request) -> Response:
        services: Services = services_of(request)
        next_url = safe_next(request.query_params.get("next"))
        session_id = request.cookies.get(SESSION_COOKIE)
        note = ""
        if session_id:
            try:
                await run_in_threadpool(services.sessions.principal, session_id)
                return secure(RedirectResponse(next_url, 303))
            except Unauthenticated as exc:
                note = exc.message  # why it ended (idle, expired, revoked ...): sign in again
            except RelayError:
                pass
        return _login_page(request, next_url, note=note)

    async def login(request: Request) -> Response:
        services: Services = services_of(request)
        try:
            form = await read_form(request)
        except RelayError as exc:
            return error_page(request, exc)
        next_url = safe_next(form.get("next"))
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        given = form.get("csrf", "")
        if not nonce or not given or not hmac.compare_digest(nonce, given):
            message = (
                "the sign-in form had expired or came from another site; enter your token again"
            )
            return _login_page(request, next_url, message, status=403)
        try:
            opened = await run_in_threadpool(services.sessions.sign_in, form.get("token", ""))
        except Unauthenticated as exc:
            return _login_page(request, next_url, exc.message, status=401)
        except RelayError as exc:
            return error_page(request, exc)
        response = RedirectResponse(next_url, 303)
        seconds = int((opened.expires_at - datetime.now(UTC)).total_seconds())
        response.set_cookie(
            SESSION_COOKIE,
            opened.id,
            max_age=max(seconds, 1),
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return secure(response)

    async def logout(request: Request) -> Response:
        services: Services = services_of(request)
        try:
            form = await read_form(request)
        except RelayError as exc:
            return error_page(request, exc)
        session_id = request.cookies.get(SESSION_COOKIE, "")
        if session_id and not csrf_matches(session_id, form.get("csrf")):
            return error_page(
                request,
                PermissionDenied(
                    "this sign-out form's CSRF token is wrong; reload the page and retry"
                ),
            )
        await run_in_threadpool(services.sessions.sign_out, session_id)
        response = RedirectResponse("/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return secure(response)

    return [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
