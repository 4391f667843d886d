"""The global CLI options and the session every command builds from them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relayml.client.base import Backend
    from relayml.config import Settings


@dataclass
class Options:
    server: str | None = None
    token: str | None = None
    project: str | None = None


options = Options()


def project(override: str | None = None) -> str:
    """The project a command acts on: its own --project, the global one (or $RELAY_PROJECT),
    the one `relay use` remembered in the workspace, or the default."""
    from relayml.config import workspace_project
    from relayml.domain.identity import DEFAULT_PROJECT, check_name

    chosen = override or options.project or workspace_project(settings().home)
    return check_name("project", chosen or DEFAULT_PROJECT)


def project_if_chosen(override: str | None = None) -> str | None:
    """For commands that span every project unless told otherwise (`audit log`, `users ls`):
    the project chosen as `project` would choose it, or None when none was."""
    from relayml.config import workspace_project

    chosen = override or options.project or workspace_project(settings().home)
    return chosen or None


def settings() -> Settings:
    from relayml.config import Settings

    return Settings.from_env()


def is_remote() -> bool:
    return bool(options.server or settings().server_url)


@contextmanager
def backend() -> Iterator[Backend]:
    """A backend for one command, closed afterwards.

    No project is passed to `connect`: a read such as `runs ls --project typo` must not create
    the project as a side effect; commands pass the project to each call instead.
    """
    from relayml.sdk.session import connect

    session = connect(server=options.server, token=options.token)
    try:
        yield session.backend
    finally:
        session.backend.close()


@contextmanager
def delivering(backend: Backend) -> Iterator[None]:
    """Around a long-running command on the embedded store: send webhook deliveries (retries,
    and those a killed process left) in background threads meanwhile. A Relay server sends
    its own, so over http this does nothing."""
    from relayml.client.local import LocalBackend

    if not isinstance(backend, LocalBackend):
        yield
        return
    from relayml.services.dispatcher import Dispatcher

    with Dispatcher(backend.services.notifications):
        yield
