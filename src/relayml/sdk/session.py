"""Which backend the SDK talks to: embedded (SQLite/PostgreSQL + files) or a Relay server."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from relayml.client.base import Backend
from relayml.client.connect import open_backend
from relayml.config import Settings, workspace_project
from relayml.domain.identity import DEFAULT_PROJECT, check_name


@dataclass
class Session:
    backend: Backend
    project: str
    settings: Settings

    @property
    def user(self) -> str:
        return self.backend.user


_lock = threading.Lock()
_current: Session | None = None


def connect(
    *,
    project: str | None = None,
    server: str | None = None,
    token: str | None = None,
    home: str | Path | None = None,
    settings: Settings | None = None,
) -> Session:
    """Build a session without making it the process default (the CLI and tests use this)."""
    cfg = settings or Settings.from_env(home)
    backend = open_backend(cfg, server, token)
    # no project named: the one `relay use` remembered in the workspace, else "default"
    name = check_name("project", project or workspace_project(cfg.home) or DEFAULT_PROJECT)
    if project:
        backend.identity.ensure_project(name)
    return Session(backend=backend, project=name, settings=cfg)


def init(
    project: str | None = None,
    *,
    server: str | None = None,
    token: str | None = None,
    home: str | Path | None = None,
) -> Session:
    """Choose the project (created on an admin's first use) and the backend for this process.

    With no arguments: embedded mode under `$RELAY_HOME` (default `./.relay`), or the server
    named by `RELAY_SERVER_URL` with `RELAY_TOKEN`.
    """
    global _current
    session = connect(project=project, server=server, token=token, home=home)
    with _lock:
        old, _current = _current, session
    if old is not None and old.backend is not session.backend:
        from relayml.sdk.flusher import flusher

        flusher.flush_all()
        old.backend.close()
    return session


def current() -> Session:
    global _current
    with _lock:
        if _current is None:
            # RELAY_PROJECT: as for the CLI; a pipeline step's process gets its run's project.
            _current = connect(project=os.environ.get("RELAY_PROJECT") or None)
        return _current


def reset() -> None:
    """Forget the current session (flushing what is pending first)."""
    global _current
    from relayml.sdk.flusher import flusher

    flusher.flush_all()
    with _lock:
        old, _current = _current, None
    if old is not None:
        old.backend.close()
