"""`RolesApi` over REST: the roles of a project or the installation, and the roles document."""

from __future__ import annotations

from relayml.client.http.transport import HttpTransport, seg
from relayml.client.http.urls import API
from relayml.domain.identity import check_role_name
from relayml.domain.roles import RoleInfo, RolesDocument
from relayml.wire.roles import RoleOut, RolesDocumentOut


class HttpRoles:
    def __init__(self, transport: HttpTransport) -> None:
        self.t = transport

    def list_roles(self, project: str | None = None) -> list[RoleInfo]:
        rows = self.t.call("GET", f"{API}/roles", params={"project": project})
        return [RoleOut.model_validate(r).to_domain() for r in rows]

    def get(self, name: str, project: str | None = None) -> RoleInfo:
        path = f"{API}/roles/{seg(check_role_name(name))}"
        return RoleOut.model_validate(
            self.t.call("GET", path, params={"project": project})
        ).to_domain()

    def history(self, project: str | None = None, limit: int = 100) -> list[RolesDocument]:
        params = {"project": project, "limit": limit}
        rows = self.t.call("GET", f"{API}/role-documents", params=params)
        return [RolesDocumentOut.model_validate(r).to_domain() for r in rows]

    def apply(self, text: str, project: str | None = None) -> RolesDocument:
        body = {"text": text, "project": project}
        found = self.t.call("POST", f"{API}/role-documents", json=body)
        return RolesDocumentOut.model_validate(found).to_domain()
