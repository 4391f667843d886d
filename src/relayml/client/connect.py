"""The Backend for a configuration: a Relay server over http, or the services in-process."""

from __future__ import annotations

from relayml.client.base import Backend
from relayml.config import Settings


def open_backend(
    settings: Settings, server: str | None = None, token: str | None = None
) -> Backend:
    """`server` (or the configured server URL) over http; else the embedded stores, as the user
    `token` authenticates or, without one, the local user."""
    server = server or settings.server_url
    token = token or settings.token
    if server:
        from relayml.client.http import HttpBackend

        return HttpBackend(server, token)
    from relayml.client.local import LocalBackend
    from relayml.services import open_services

    services = open_services(
        settings.database_url,
        settings.artifact_uri,
        audit_key_file=settings.audit_key_path,
        audit_key=settings.audit_key,
        audit_checkpoints=settings.audit_checkpoint_target,
        audit_checkpoint_every=settings.audit_checkpoint_every,
        statement_timeout=settings.statement_timeout,
        run_lost_after=settings.run_lost_after,
        secret_key_file=settings.secret_key_path,
        secret_key=settings.secret_key,
    )
    try:
        if token:
            principal = services.identity.authenticate(token)
        else:
            principal = services.identity.provision_local(settings.user)
    except BaseException:
        services.close()
        raise
    return LocalBackend(services, principal)


def acting_as(backend: Backend, token: str) -> Backend:
    """The Relay `backend` talks to, as the user `token` authenticates (refused now if it does
    not): the same in-process services bound to that user (the token checked through the
    services' token cache), or a new http connection carrying that token. Close the result
    when done; that leaves `backend` open. The model server acts as the caller this way."""
    from relayml.client.local import LocalBackend

    if isinstance(backend, LocalBackend):
        principal = backend.services.identity.authenticate(token)
        return LocalBackend(backend.services, principal, owns_services=False)
    from relayml.client.http import HttpBackend

    if isinstance(backend, HttpBackend):
        return HttpBackend(backend.transport.url, token)
    raise TypeError(f"cannot act as another user through a {type(backend).__name__}")
