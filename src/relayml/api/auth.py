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


def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    header = request.headers.get("authorization")
    if credentials is None and header:
        scheme = header.split(" ", 1)[0] if " " in header else ""
        if header.strip().lower() == "bearer":
            problem = "the bearer token in the Authorization header is empty"
        elif scheme:
            problem = f"the Authorization header uses {scheme!r}, not a bearer token"
        else:
            problem = "the Authorization header has no scheme"
        raise Unauthenticated(f"{problem}; send 'Authorization: Bearer <token>'")
    token = credentials.credentials if credentials is not None else None
    return get_services(request).identity.authenticate(token)


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
