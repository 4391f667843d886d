"""`IdentityApi` over REST: projects, users, tokens and role grants."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from relayml.client.http.transport import HttpTransport, seg
from relayml.client.http.urls import API, duration_text, name_seg
from relayml.domain.identity import (
    DEFAULT_PROJECT,
    IssuedToken,
    Project,
    TokenInfo,
    User,
    check_role_name,
    check_token_id,
)
from relayml.wire.identity import IssuedTokenOut, ProjectOut, TokenInfoOut, UserOut, WhoamiOut


class HttpIdentity:
    def __init__(self, transport: HttpTransport) -> None:
        self.t = transport

    def whoami(self) -> dict[str, Any]:
        return WhoamiOut.model_validate(self.t.call("GET", f"{API}/whoami")).model_dump()

    def create_project(self, name: str, description: str = "") -> Project:
        body = {"name": name, "description": description}
        return ProjectOut.model_validate(
            self.t.call("POST", f"{API}/projects", json=body)
        ).to_domain()

    def ensure_project(self, name: str) -> Project:
        found = self.t.call("PUT", f"{API}/projects/{name_seg('project', name)}")
        return ProjectOut.model_validate(found).to_domain()

    def list_projects(self) -> list[Project]:
        return [
            ProjectOut.model_validate(p).to_domain() for p in self.t.call("GET", f"{API}/projects")
        ]

    def create_user(
        self,
        name: str,
        roles: list[str],
        project: str = DEFAULT_PROJECT,
        expires: str | float | timedelta | None = None,
    ) -> IssuedToken:
        body = {
            "name": name,
            "roles": list(roles),
            "project": project,
            "expires": duration_text(expires),
        }
        return IssuedTokenOut.model_validate(
            self.t.call("POST", f"{API}/users", json=body)
        ).to_domain()

    def issue_token(self, user: str, expires: str | float | timedelta | None = None) -> IssuedToken:
        path = f"{API}/users/{name_seg('user', user)}/tokens"
        found = self.t.call("POST", path, json={"expires": duration_text(expires)})
        return IssuedTokenOut.model_validate(found).to_domain()

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        rows = self.t.call("GET", f"{API}/tokens", params={"user": user})
        return [TokenInfoOut.model_validate(t).to_domain() for t in rows]

    def revoke_token(self, token_id: str) -> TokenInfo:
        # the same rule as the service, checked before the id becomes part of a URL
        found = self.t.call("DELETE", f"{API}/tokens/{seg(check_token_id(token_id))}")
        return TokenInfoOut.model_validate(found).to_domain()

    def set_user_active(self, user: str, active: bool) -> User:
        verb = "activate" if active else "deactivate"
        found = self.t.call("POST", f"{API}/users/{name_seg('user', user)}/{verb}")
        return UserOut.model_validate(found).to_domain()

    def list_users(self, project: str | None = None) -> list[User]:
        rows = self.t.call("GET", f"{API}/users", params={"project": project})
        return [UserOut.model_validate(u).to_domain() for u in rows]

    def grant(self, user: str, role: str, project: str) -> None:
        body = {"role": role, "project": project}
        self.t.call("POST", f"{API}/users/{name_seg('user', user)}/grants", json=body)

    def revoke(self, user: str, role: str, project: str) -> None:
        path = f"{API}/users/{name_seg('user', user)}/grants/{seg(check_role_name(role))}"
        self.t.call("DELETE", path, params={"project": project})
