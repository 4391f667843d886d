"""The `roles` area's client protocol, `RolesApi`: what both backends implement (the
services bound in-process by `client.local`, REST in `client/http/roles.py`)."""

from __future__ import annotations

from typing import Protocol

from relayml.domain.roles import RoleInfo, RolesDocument


class RolesApi(Protocol):
    """`services.roles`: custom roles and changes to the built-in ones, for the installation
    (project None) or one project."""

    def list_roles(self, project: str | None = None) -> list[RoleInfo]: ...
    def get(self, name: str, project: str | None = None) -> RoleInfo: ...
    def history(self, project: str | None = None, limit: int = 100) -> list[RolesDocument]: ...
    def apply(self, text: str, project: str | None = None) -> RolesDocument: ...
