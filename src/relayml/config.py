"""Where Relay keeps things, read from the environment (RELAY_*) and the workspace.

Embedded mode keeps its store in a `.relay` directory. Like git with `.git`, Relay finds it by
walking up from the current directory, so commands work from any folder below the one where the
store was created; with none found, `./.relay` is used (and created on first write).
`$RELAY_HOME` overrides the search. The workspace also remembers the project a person works in
(`relay use PROJECT`), in `.relay/workspace.json`.
"""

from __future__ import annotations

import getpass
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from relayml.errors import InvalidInput

STORE_DIR = ".relay"
WORKSPACE_FILE = "workspace.json"


def find_home(start: str | os.PathLike[str] | None = None) -> Path:
    """The nearest `.relay` directory at or above `start` (default: the current directory);
    `start/.relay` when there is none."""
    here = Path(start or Path.cwd()).expanduser().resolve()
    for folder in (here, *here.parents):
        candidate = folder / STORE_DIR
        if candidate.is_dir():
            return candidate
    return here / STORE_DIR


DEFAULT_STATEMENT_TIMEOUT = 30.0
"""Seconds a database statement may run before it is stopped (RELAY_STATEMENT_TIMEOUT)."""
DEFAULT_MAX_JSON_BYTES = 16 * 1024 * 1024
"""The largest JSON request body the server reads (RELAY_MAX_JSON_BYTES); uploads stream."""


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    artifact_uri: str
    server_url: str | None
    token: str | None
    user: str
    auth_cache_seconds: float = 5.0
    """How stale a server's view of a token may be (RELAY_AUTH_CACHE_SECONDS; 0 = no cache)."""
    # The audit trail's anchor (docs/governance.md): the MAC key, where checkpoints go, how often.
    audit_key: str | None = field(default=None, repr=False)
    audit_key_file: Path | None = None  # default: home / "audit.keys"
    audit_checkpoints: str | None = None  # a file path, or "-" for stdout; default under home
    audit_checkpoint_every: int = 1000
    statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT
    max_json_bytes: int = DEFAULT_MAX_JSON_BYTES
    heartbeat_interval: float | None = None
    """Seconds between an open run's heartbeats when it writes nothing else
    (RELAY_HEARTBEAT_INTERVAL; None: the SDK's default, sdk/flusher.py)."""
    run_lost_after: float | None = None
    """Seconds without a heartbeat after which a running run reads as `lost`
    (RELAY_RUN_LOST_AFTER; None: the default in domain/tracking.py). Read by whoever opens the
    services: the server, or the SDK and CLI in embedded mode."""
    secret_key: str | None = field(default=None, repr=False)
    """The key that seals webhook signing secrets (RELAY_SECRET_KEY; several, comma-separated:
    the first seals, all open); unset: the key file (docs/webhooks.md)."""
    secret_key_file: Path | None = None  # default: home / "secret.keys"
    ui_idle_minutes: float | None = None
    """Minutes without a request after which a web UI session ends (RELAY_UI_IDLE_MINUTES,
    1 to 720, checked by services/sessions.py; None: 30, domain/identity.py). Read by the
    server."""

    @classmethod
    def from_env(cls, home: str | os.PathLike[str] | None = None) -> Settings:
        env = os.environ
        explicit = home or env.get("RELAY_HOME")
        root = Path(explicit).expanduser().resolve() if explicit else find_home()
        return cls(
            home=root,
            database_url=env.get("RELAY_DATABASE_URL") or f"sqlite:///{root / 'relay.db'}",
            artifact_uri=env.get("RELAY_ARTIFACT_URI") or str(root / "artifacts"),
            server_url=env.get("RELAY_SERVER_URL") or None,
            token=env.get("RELAY_TOKEN") or None,
            user=env.get("RELAY_USER") or _os_user(),
            auth_cache_seconds=_seconds("RELAY_AUTH_CACHE_SECONDS", env, default=5.0),
            audit_key=env.get("RELAY_AUDIT_KEY") or None,
            audit_key_file=Path(kf).expanduser()
            if (kf := env.get("RELAY_AUDIT_KEY_FILE"))
            else None,
            audit_checkpoints=env.get("RELAY_AUDIT_CHECKPOINTS") or None,
            audit_checkpoint_every=_positive("RELAY_AUDIT_CHECKPOINT_EVERY", 1000),
            statement_timeout=_positive_number(
                "RELAY_STATEMENT_TIMEOUT", env.get("RELAY_STATEMENT_TIMEOUT"),
                DEFAULT_STATEMENT_TIMEOUT, float,
            ),
            max_json_bytes=int(_positive_number(
                "RELAY_MAX_JSON_BYTES", env.get("RELAY_MAX_JSON_BYTES"),
                DEFAULT_MAX_JSON_BYTES, int,
            )),
            heartbeat_interval=_seconds_or_none("RELAY_HEARTBEAT_INTERVAL", env),
            run_lost_after=_seconds_or_none("RELAY_RUN_LOST_AFTER", env),
            secret_key=env.get("RELAY_SECRET_KEY") or None,
            secret_key_file=Path(sf).expanduser()
            if (sf := env.get("RELAY_SECRET_KEY_FILE"))
            else None,
            ui_idle_minutes=_minutes_or_none("RELAY_UI_IDLE_MINUTES", env),
        )  # fmt: skip

    @property
    def audit_key_path(self) -> Path:
        return self.audit_key_file or self.home / "audit.keys"

    @property
    def secret_key_path(self) -> Path:
        return self.secret_key_file or self.home / "secret.keys"

    @property
    def audit_checkpoint_target(self) -> str:
        return self.audit_checkpoints or str(self.home / "audit-checkpoints.jsonl")


def _positive(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise InvalidInput(f"{name} must be a whole number of at least 1, got {raw!r}")
    return value


def _seconds_or_none(name: str, env: Mapping[str, str]) -> float | None:
    """A positive, finite number of seconds, or None when unset (the reader's default)."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value > 0):
        raise InvalidInput(
            f"{name}={raw!r} is not a positive number of seconds; unset it or give e.g. 30"
        )
    return value


def _minutes_or_none(name: str, env: Mapping[str, str]) -> float | None:
    """A number of minutes, or None when unset (the services check its range)."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidInput(f"{name}={raw!r} is not a number of minutes; write e.g. 30") from None


def _positive_number(
    name: str, raw: str | None, default: float, kind: type[float] | type[int]
) -> float:
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise InvalidInput(
            f"{name}={raw!r} is not a positive number; unset it or give e.g. {default:g}"
        )
    return value


def workspace_project(home: Path) -> str | None:
    """The project remembered by `relay use`, if any."""
    path = home / WORKSPACE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            f"{path} is not a readable workspace file ({exc}); delete it or run "
            "`relay use PROJECT` again"
        ) from exc
    project = data.get("project") if isinstance(data, dict) else None
    return project if isinstance(project, str) and project else None


def remember_project(home: Path, project: str) -> Path:
    """Record `project` as the workspace's default (atomically: a crash leaves the old one)."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / WORKSPACE_FILE
    tmp = path.with_name(f".{WORKSPACE_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"project": project}) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def _seconds(name: str, env: Mapping[str, str], default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise InvalidInput(f"{name}={raw!r} must be a number of seconds from 0 to 3600")
    return value


def _os_user() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "local"
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "local"
