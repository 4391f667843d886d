"""Roles as policy: the roles known in a project or the installation, and the versions of the
roles document that defines custom roles and changes built-in ones.

`?project=P` names the project; without it (or with `*`), the installation's roles.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.bodies import Route
from relayml.api.responses import ERROR_RESPONSES, json
from relayml.api.schemas import RolesApply
from relayml.wire.roles import RoleOut, RolesDocumentOut

router = APIRouter(prefix="/api/v1", route_class=Route, tags=["roles"], responses=ERROR_RESPONSES)

ProjectQuery = Annotated[
    str | None, Query(description="The project; none or '*': the installation's roles")
]


@router.get(
    "/roles",
    response_model=list[RoleOut],
    summary="Every role, built-in or custom, with what it may do and where it is defined",
)
def list_roles(services: ServicesDep, who: PrincipalDep, project: ProjectQuery = None) -> Response:
    return json([RoleOut.from_domain(r) for r in services.roles.list_roles(who, project)])


@router.get(
    "/roles/{name}",
    response_model=RoleOut,
    summary="One role: its actions and how they differ from its default",
)
def get_role(
    name: str, services: ServicesDep, who: PrincipalDep, project: ProjectQuery = None
) -> Response:
    return json(RoleOut.from_domain(services.roles.get(who, name, project)))


@router.get(
    "/role-documents",
    response_model=list[RolesDocumentOut],
    summary="The versions of the roles document, newest first",
)
def history(
    services: ServicesDep,
    who: PrincipalDep,
    project: ProjectQuery = None,
    limit: Annotated[int, Query()] = 100,
) -> Response:
    found = services.roles.history(who, project, limit)
    return json([RolesDocumentOut.from_domain(d) for d in found])


@router.post(
    "/role-documents",
    status_code=201,
    response_model=RolesDocumentOut,
    summary="Apply a roles document: a new version for the project or the installation (admin)",
)
def apply(body: RolesApply, services: ServicesDep, who: PrincipalDep) -> Response:
    applied = services.roles.apply(who, body.text, body.project)
    return json(RolesDocumentOut.from_domain(applied), status_code=201)
