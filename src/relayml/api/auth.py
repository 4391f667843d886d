"""Who is calling: the bearer token of every request but the health check, made a Principal.

Authentication only; what the principal may do is decided by the service layer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from relayml.domain.identity import Principal
from relayml.errors import Unauthenticated
from relayml.services import Services

# auto_error=False: a missing or malformed header reaches the service's own 401 message.
_bearer = HTTPBearer(auto_error=False, description="A Relay API token (relay users token NAME)")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


PRINCIPAL_STATE = "relay_principal"
"""Where the gate (api/gate.py) leaves the principal it authenticated, in the request state."""


def principal_from_header(services: Services, header: str | None) -> Principal:
    """The caller named by an `Authorization: Bearer <token>` header: the one token check of
    the API, run by the gate before a body is read."""
    token: str | None = None
    if header:
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            token = credentials.strip()
        else:
            if header.strip().lower() == "bearer":
                problem = "the bearer token in the Authorization header is empty"
            elif credentials:
                problem = f"the Authorization header uses {scheme!r}, not a bearer token"
            else:
                problem = "the Authorization header has no scheme"
            raise Unauthenticated(f"{problem}; send 'Authorization: Bearer <token>'")
    return services.identity.authenticate(token)


def get_principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The principal the gate authenticated (the bearer scheme is declared for OpenAPI)."""
    found = getattr(request.state, PRINCIPAL_STATE, None)
    if isinstance(found, Principal):
        return found
    return principal_from_header(get_services(request), request.headers.get("authorization"))


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
