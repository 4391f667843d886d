"""Where Relay keeps things, read from the environment (RELAY_*)."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    artifact_uri: str
    server_url: str | None
    token: str | None
    user: str

    @classmethod
    def from_env(cls, home: str | os.PathLike[str] | None = None) -> Settings:
        env = os.environ
        root = Path(home or env.get("RELAY_HOME") or ".relay").expanduser().resolve()
        return cls(
            home=root,
            database_url=env.get("RELAY_DATABASE_URL") or f"sqlite:///{root / 'relay.db'}",
            artifact_uri=env.get("RELAY_ARTIFACT_URI") or str(root / "artifacts"),
            server_url=env.get("RELAY_SERVER_URL") or None,
            token=env.get("RELAY_TOKEN") or None,
            user=env.get("RELAY_USER") or _os_user(),
        )


def _os_user() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "local"
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "local"
