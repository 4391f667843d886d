"""What every page shares: who is signed in, the project, forms with CSRF, answers with headers.

A page is a plain function `(ctx: Context) -> Response`, registered with `@area.get(path)` or
`@area.post(path)` (`ui/pages/`). The wrapper here, before the page runs:
1. reads the session cookie and asks the services who it stands for (`SessionService.principal`:
   no session, a signed-out or expired one, a revoked token: to the sign-in page);
2. for a POST, reads the form (urlencoded, at most `MAX_FORM_BYTES`, or the limit the page
   gave `area.post`) and refuses it unless its
   `csrf` field is the session's CSRF token (`services.sessions.csrf_token`);
3. runs the page in the thread pool (the services are synchronous) and turns a `RelayError` into
   a page that says what went wrong, with the error's HTTP status.
Every answer carries the UI's security headers (`SECURITY_HEADERS`): a Content-Security-Policy
that runs only our own scripts and styles, no framing, no sniffing, no caching of signed-in
pages. The services decide what the caller may do; `ctx.may(action)` only hides controls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from relayml.domain.identity import Principal
from relayml.domain.roles import Action
from relayml.errors import InvalidInput, PermissionDenied, RelayError, Unauthenticated
from relayml.services import Services
from relayml.services.sessions import csrf_matches, csrf_token
from relayml.ui.render import render
from relayml.version import __version__

SESSION_COOKIE = "relay_session"
MAX_FORM_BYTES = 64 * 1024
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
CHART_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
"""For pages with Plotly charts only: Plotly sets style attributes and adds style rules as it
draws (it cannot draw otherwise); scripts stay limited to our own files everywhere."""
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def safe_next(target: str | None) -> str:
    """A place to go back to after signing in: a path on this server, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@dataclass(frozen=True)
class NavItem:
    """An area's entry in the navigation: its label, its path under the project, and the action
    a role needs to see it (the page itself is checked by the services whatever the nav says)."""

    label: str
    path: str
    action: Action
    order: int


@dataclass
class Context:
    """One request to a page: who, where, what they sent, and how to answer."""

    request: Request
    services: Services
    who: Principal
    session_id: str
    form: dict[str, str] = field(default_factory=dict)
    nav: tuple[NavItem, ...] = ()

    @property
    def project(self) -> str:
        found = self.request.path_params.get("project")
        return str(found) if found else ""

    def arg(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)

    def args(self, name: str) -> list[str]:
        return self.request.query_params.getlist(name)

    @cached_property
    def csrf(self) -> str:
        return csrf_token(self.session_id)

    @cached_property
    def roles(self) -> list[str]:
        return sorted(self.who.roles_in(self.project)) if self.project else []

    @cached_property
    def actions(self) -> frozenset[Action]:
        """What the caller's roles allow in this project (to show or hide controls)."""
        if not self.project:
            return frozenset()
        mine = self.who.roles_in(self.project)
        roles = self.services.roles.list_roles(self.who, self.project)
        return frozenset(a for r in roles if r.name in mine for a in r.actions)

    def may(self, action: Action) -> bool:
        return action in self.actions

    @cached_property
    def projects(self) -> list[str]:
        return [p.name for p in self.services.identity.list_projects(self.who)]

    def url(self, path: str = "", **query: Any) -> str:
        """A path under the current project, with a query string of the non-empty values."""
        base = f"/p/{quote(self.project, safe='')}/{path}"
        pairs = [
            (k, str(x))
            for k, v in query.items()
            for x in (v if isinstance(v, list | tuple) else [v])
            if x not in (None, "")
        ]
        return base + ("?" + urlencode(pairs) if pairs else "")

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        nav = [n for n in self.nav if self.may(n.action)] if self.project else []
        page = {
            "ctx": self,
            "who": self.who,
            "project": self.project,
            "roles": self.roles,
            "nav": nav,
            "csrf": self.csrf,
            "version": __version__,
            "path": self.request.url.path,
        }
        html = render(template, {**page, **values})
        response = HTMLResponse(html, status_code=status)
        if values.get("charts"):
            response.headers["Content-Security-Policy"] = CHART_CSP
        return secure(response)

    def redirect(self, url: str) -> Response:
        return secure(RedirectResponse(url, status_code=303))


View = Callable[[Context], Response]


async def read_form(request: Request, limit: int = MAX_FORM_BYTES) -> dict[str, str]:
    """An urlencoded form (the UI's only kind), refused past `limit` bytes."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise InvalidInput(f"the UI takes forms as application/x-www-form-urlencoded, not {kind!r}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise InvalidInput(f"the form is larger than {limit:,} bytes")
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def error_page(request: Request, exc: RelayError, who: Principal | None = None) -> Response:
    values: dict[str, Any] = {
        "ctx": None,
        "who": who,
        "project": "",
        "roles": [],
        "nav": [],
        "csrf": "",
        "version": __version__,
        "path": request.url.path,
        "status": exc.http_status,
        "message": exc.message,
        "title": _TITLES.get(exc.http_status, "Something went wrong"),
    }
    return secure(HTMLResponse(render("error.html", values), status_code=exc.http_status))


_TITLES = {
    400: "That input was not accepted",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    422: "Refused",
}


def _run(services: Services, view: View, request: Request, ctx_args: dict[str, Any]) -> Response:
    """In the thread pool: who the session stands for, then the page."""
    session_id = ctx_args["session_id"]
    try:
        who = services.sessions.principal(session_id)
    except Unauthenticated:
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return secure(RedirectResponse(f"/login?{urlencode({'next': target})}", 303))
        raise
    if request.method == "POST" and not csrf_matches(session_id, ctx_args["form"].get("csrf")):
        raise PermissionDenied(
            "this form's CSRF token is missing or wrong (a form from another site, or from "
            "before you signed in again); go back, reload the page and send it again"
        )
    ctx = Context(request, services, who, session_id, ctx_args["form"], ctx_args["nav"])
    try:
        return view(ctx)
    except RelayError as exc:
        return error_page(request, exc, who)


def page_route(
    path: str,
    view: View,
    method: str,
    services_of: Callable[[Request], Services],
    nav: tuple[NavItem, ...],
    max_form_bytes: int = MAX_FORM_BYTES,
) -> Route:
    async def endpoint(request: Request) -> Response:
        services = services_of(request)
        try:
            form = await read_form(request, max_form_bytes) if method == "POST" else {}
            args = {
                "session_id": request.cookies.get(SESSION_COOKIE, ""),
                "form": form,
                "nav": nav,
            }
            return await run_in_threadpool(_run, services, view, request, args)
        except RelayError as exc:
            return error_page(request, exc)

    endpoint.__name__ = view.__name__
    return Route(path, endpoint, methods=[method])


class Area:
    """One area's pages: `@area.get("/p/{project}/runs")` registers a page, `nav` its entry."""

    def __init__(self, nav: NavItem | None = None) -> None:
        self.nav = nav
        self.views: list[tuple[str, str, View]] = []
        self.form_limits: dict[str, int] = {}  # path -> a POST's form limit, past the default

    def get(self, path: str) -> Callable[[View], View]:
        return self._add(path, "GET")

    def post(self, path: str, max_form_bytes: int = MAX_FORM_BYTES) -> Callable[[View], View]:
        """A form page; `max_form_bytes` for the few forms that carry a file's text."""
        if max_form_bytes != MAX_FORM_BYTES:
            self.form_limits[path] = max_form_bytes
        return self._add(path, "POST")

    def _add(self, path: str, method: str) -> Callable[[View], View]:
        def register(view: View) -> View:
            self.views.append((path, method, view))
            return view

        return register
