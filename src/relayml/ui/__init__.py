"""The web UI: server-rendered pages over the same service calls as the REST API.

`routes(services_of)` gives the routes `api/app.py` adds to the app, so `relay server` serves
the UI at `/` beside the REST API under `/api/v1` (which never reads the UI's cookie). The
pieces: `web` (the page wrapper: session, CSRF, errors, security headers), `signin`, `static`,
`render` (Jinja2), `table` (paging and columns), and one module per area in `pages/`.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.routing import BaseRoute

from relayml.services import Services
from relayml.ui import signin, static
from relayml.ui.pages import AREAS
from relayml.ui.web import MAX_FORM_BYTES, page_route


def routes(services_of: Callable[[Request], Services]) -> list[BaseRoute]:
    nav = tuple(sorted((a.nav for a in AREAS if a.nav is not None), key=lambda n: n.order))
    out: list[BaseRoute] = [*signin.routes(services_of), *static.routes()]
    for area in AREAS:
        for path, method, view in area.views:
            limit = area.form_limits.get(path, MAX_FORM_BYTES)  # a GET reads no form
            out.append(page_route(path, view, method, services_of, nav, limit))
    return out
