"""`IdentityApi` over REST: projects, users, tokens and role grants."""

from __future__ import annotations

from typing import Any

from relayml.client.http.binding import Args, Route, delete, get, no_body, post, put
from relayml.client.http.urls import duration_text
from relayml.domain.identity import check_role_name, check_token_id
from relayml.wire.identity import WhoamiOut


def _whoami(found: Any) -> dict[str, Any]:
    return WhoamiOut.model_validate(found).model_dump()


def _new_user(a: Args) -> object:
    return {**a, "roles": list(a["roles"]), "expires": duration_text(a["expires"])}


def _expires(a: Args) -> object:
    return {"expires": duration_text(a["expires"])}


def _verb(active: bool) -> str:
    # one operation, two endpoints: .../activate or .../deactivate
    return "activate" if active else "deactivate"


ROUTES: dict[str, Route] = {
    "whoami": get("/whoami", out=_whoami),
    "create_project": post("/projects"),
    "ensure_project": put("/projects/{name:project}", body=no_body),
    "list_projects": get("/projects"),
    "create_user": post("/users", body=_new_user),
    "issue_token": post("/users/{user:user}/tokens", body=_expires),
    "list_tokens": get("/tokens"),
    "revoke_token": delete("/tokens/{token_id}", checks={"token_id": check_token_id}),
    "set_user_active": post(
        "/users/{user:user}/{active}", segments={"active": _verb}, body=no_body
    ),
    "list_users": get("/users"),
    "grant": post("/users/{user:user}/grants"),
    "revoke": delete("/users/{user:user}/grants/{role}", checks={"role": check_role_name}),
}
