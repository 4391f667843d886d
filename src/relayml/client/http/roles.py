"""`RolesApi` over REST: the roles of a project or the installation, and the roles document."""

from __future__ import annotations

from relayml.client.http.binding import Route, get, post
from relayml.domain.identity import check_role_name

ROUTES: dict[str, Route] = {
    "list_roles": get("/roles"),
    "get": get("/roles/{name}", checks={"name": check_role_name}),
    "history": get("/role-documents"),
    "apply": post("/role-documents"),
}
