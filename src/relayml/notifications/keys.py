"""Where the server key that seals webhook secrets comes from.

`RELAY_SECRET_KEY` (one key, or several separated by commas: the first seals, all open), else
the key file (default `$RELAY_HOME/secret.keys`): one key a line, the last one sealing, created
with mode 0600 and one random key on first use, and refused when others may read it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from relayml.errors import InvalidInput
from relayml.notifications.sealing import SecretBox

ENV = "RELAY_SECRET_KEY"


def _create(path: Path) -> None:
    """Create the file with one key, atomically: two processes starting at once end up with
    the same key (link() fails for the second, which then reads the first's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read(path: Path) -> list[str]:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(
            f"the webhook secret key file {path} is readable by others (mode "
            f"{stat.S_IMODE(mode):o}); make it private: chmod 600 {path}"
        )
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def load_box(key_file: Path | None, env_key: str | None = None) -> SecretBox:
    """The keys from `env_key` (RELAY_SECRET_KEY) when set, else from `key_file`."""
    if env_key:
        return SecretBox(tuple(k.strip() for k in env_key.split(",") if k.strip()), ENV)
    if key_file is None:
        raise InvalidInput(f"no webhook secret key: set {ENV} or give a key file")
    if not key_file.exists():
        _create(key_file)
    keys = _read(key_file)
    return SecretBox(tuple(reversed(keys)), str(key_file))
