"""Projects, users, tokens and role grants."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.bodies import Route
from relayml.api.responses import ERROR_RESPONSES, json
from relayml.api.schemas import GrantCreate, ProjectCreate, TokenCreate, UserCreate
from relayml.wire.identity import IssuedTokenOut, ProjectOut, TokenInfoOut, UserOut, WhoamiOut

router = APIRouter(
    prefix="/api/v1", route_class=Route, tags=["identity"], responses=ERROR_RESPONSES
)


@router.get("/whoami", response_model=WhoamiOut, summary="The caller's user name and role grants")
def whoami(services: ServicesDep, who: PrincipalDep) -> Response:
    return json(WhoamiOut.from_domain(services.identity.whoami(who)))


@router.get(
    "/projects", response_model=list[ProjectOut], summary="Projects the caller holds a role in"
)
def list_projects(services: ServicesDep, who: PrincipalDep) -> Response:
    return json([ProjectOut.from_domain(p) for p in services.identity.list_projects(who)])


@router.post(
    "/projects", status_code=201, response_model=ProjectOut, summary="Create a project (admin)"
)
def create_project(body: ProjectCreate, services: ServicesDep, who: PrincipalDep) -> Response:
    project = services.identity.create_project(who, body.name, body.description)
    return json(ProjectOut.from_domain(project), status_code=201)


@router.put(
    "/projects/{project}",
    response_model=ProjectOut,
    summary="Get a project, creating it if the caller may",
)
def ensure_project(project: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(ProjectOut.from_domain(services.identity.ensure_project(who, project)))


@router.get(
    "/users",
    response_model=list[UserOut],
    summary="Users and their grants, optionally those of one project",
)
def list_users(
    services: ServicesDep, who: PrincipalDep, project: Annotated[str | None, Query()] = None
) -> Response:
    users = services.identity.list_users(who, project)
    return json([UserOut.from_domain(u) for u in users])


@router.post(
    "/users",
    status_code=201,
    response_model=IssuedTokenOut,
    summary="Create a user with roles; returns a token once",
)
def create_user(body: UserCreate, services: ServicesDep, who: PrincipalDep) -> Response:
    issued = services.identity.create_user(
        who, body.name, body.roles, body.project, expires=body.expires
    )
    return json(IssuedTokenOut.from_domain(issued), status_code=201)


@router.post(
    "/users/{user}/tokens",
    status_code=201,
    response_model=IssuedTokenOut,
    summary="Issue a new token for a user",
)
def issue_token(
    user: str, services: ServicesDep, who: PrincipalDep, body: TokenCreate | None = None
) -> Response:
    expires = body.expires if body is not None else None
    issued = services.identity.issue_token(who, user, expires=expires)
    return json(IssuedTokenOut.from_domain(issued), status_code=201)


@router.get(
    "/tokens",
    response_model=list[TokenInfoOut],
    summary="Tokens (never their secrets): the caller's, or anyone's (admin)",
)
def list_tokens(
    services: ServicesDep,
    who: PrincipalDep,
    user: Annotated[str | None, Query(description="Only this user's tokens")] = None,
) -> Response:
    tokens = services.identity.list_tokens(who, user)
    return json([TokenInfoOut.from_domain(t) for t in tokens])


@router.delete(
    "/tokens/{token_id}",
    response_model=TokenInfoOut,
    summary="Revoke a token (the caller's own, or any: admin)",
)
def revoke_token(token_id: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(TokenInfoOut.from_domain(services.identity.revoke_token(who, token_id)))


@router.post(
    "/users/{user}/deactivate",
    response_model=UserOut,
    summary="Deactivate a user: no token of theirs works",
)
def deactivate_user(user: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(UserOut.from_domain(services.identity.set_user_active(who, user, False)))


@router.post(
    "/users/{user}/activate", response_model=UserOut, summary="Reactivate a deactivated user"
)
def activate_user(user: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(UserOut.from_domain(services.identity.set_user_active(who, user, True)))


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
