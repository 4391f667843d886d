"""Projects, users, tokens and role grants."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from relayml import wire
from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.errors import OrjsonResponse
from relayml.api.schemas import GrantCreate, ProjectCreate, TokenCreate, UserCreate

router = APIRouter(prefix="/api/v1", tags=["identity"])


@router.get("/whoami", summary="The caller's user name and role grants")
def whoami(services: ServicesDep, who: PrincipalDep) -> Response:
    return OrjsonResponse(services.identity.whoami(who))


@router.get("/projects", summary="Projects the caller holds a role in")
def list_projects(services: ServicesDep, who: PrincipalDep) -> Response:
    return OrjsonResponse([wire.project_out(p) for p in services.identity.list_projects(who)])


@router.post("/projects", status_code=201, summary="Create a project (admin)")
def create_project(body: ProjectCreate, services: ServicesDep, who: PrincipalDep) -> Response:
    project = services.identity.create_project(who, body.name, body.description)
    return OrjsonResponse(wire.project_out(project), status_code=201)


@router.put("/projects/{project}", summary="Get a project, creating it if the caller may")
def ensure_project(project: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return OrjsonResponse(wire.project_out(services.identity.ensure_project(who, project)))


@router.get("/users", summary="Users and their grants, optionally those of one project")
def list_users(
    services: ServicesDep, who: PrincipalDep, project: Annotated[str | None, Query()] = None
) -> Response:
    users = services.identity.list_users(who, project)
    return OrjsonResponse([wire.user_out(u) for u in users])


@router.post("/users", status_code=201, summary="Create a user with roles; returns a token once")
def create_user(body: UserCreate, services: ServicesDep, who: PrincipalDep) -> Response:
    issued = services.identity.create_user(
        who, body.name, body.roles, body.project, expires=body.expires
    )
    return OrjsonResponse(wire.token_out(issued), status_code=201)


@router.post("/users/{user}/tokens", status_code=201, summary="Issue a new token for a user")
def issue_token(
    user: str, services: ServicesDep, who: PrincipalDep, body: TokenCreate | None = None
) -> Response:
    expires = body.expires if body is not None else None
    issued = services.identity.issue_token(who, user, expires=expires)
    return OrjsonResponse(wire.token_out(issued), status_code=201)


@router.get("/tokens", summary="Tokens (never their secrets): the caller's, or anyone's (admin)")
def list_tokens(
    services: ServicesDep,
    who: PrincipalDep,
    user: Annotated[str | None, Query(description="Only this user's tokens")] = None,
) -> Response:
    tokens = services.identity.list_tokens(who, user)
    return OrjsonResponse([wire.token_info_out(t) for t in tokens])


@router.delete("/tokens/{token_id}", summary="Revoke a token (the caller's own, or any: admin)")
def revoke_token(token_id: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return OrjsonResponse(wire.token_info_out(services.identity.revoke_token(who, token_id)))


@router.post("/users/{user}/deactivate", summary="Deactivate a user: no token of theirs works")
def deactivate_user(user: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return OrjsonResponse(wire.user_out(services.identity.set_user_active(who, user, False)))


@router.post("/users/{user}/activate", summary="Reactivate a deactivated user")
def activate_user(user: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return OrjsonResponse(wire.user_out(services.identity.set_user_active(who, user, True)))


@router.post("/users/{user}/grants", status_code=204, summary="Grant a role in a project")
def grant(user: str, body: GrantCreate, services: ServicesDep, who: PrincipalDep) -> Response:
    services.identity.grant(who, user, body.role, body.project)
    return Response(status_code=204)


@router.delete("/users/{user}/grants/{role}", status_code=204, summary="Revoke a role")
def revoke(
    user: str,
    role: str,
    services: ServicesDep,
    who: PrincipalDep,
    project: Annotated[str, Query(description="The project the role is held in ('*' = all)")],
) -> Response:
    services.identity.revoke(who, user, role, project)
    return Response(status_code=204)
