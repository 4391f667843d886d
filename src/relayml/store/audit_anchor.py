"""What anchors the audit trail outside the database: the MAC keys and the checkpoint log.

The key file holds one key per line, `KEY_ID SECRET` (the secret at least 32 characters, used
as its UTF-8 bytes), the last one signing; it is created with mode 0600 on first use.
`RELAY_AUDIT_KEY` (a secret of at least 32 characters, id `env-` + its sha256's first 12 hex
digits) signs instead when set, and the file's keys still verify what they signed.
Checkpoints are appended, one JSON object a line, to a file (opened O_APPEND, never rewritten)
or written to stdout for a log collector.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from relayml.domain.audit import AuditKeys, Checkpoint
from relayml.errors import InvalidInput

STDOUT = "-"
_MIN_KEY = 32


def _parse_keys(path: Path) -> list[tuple[str, bytes]]:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(
            f"the audit key file {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
            f"make it private: chmod 600 {path}"
        )
    keys = []
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key_id, _, secret = line.partition(" ")
        secret = secret.strip()
        if not key_id or len(secret) < _MIN_KEY:
            raise InvalidInput(
                f"line {n} of the audit key file {path} is not 'KEY_ID SECRET' with a secret of "
                f"at least {_MIN_KEY} characters"
            )
        keys.append((key_id, secret.encode()))
    return keys


def _new_key_line() -> str:
    return f"{secrets.token_hex(6)} {secrets.token_hex(32)}\n"


def _create_key_file(path: Path) -> None:
    """Create the key file with one key, atomically: two processes starting at once end up
    with the same key (link() fails for the second, which then reads the first's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(_new_key_line())
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_keys(key_file: Path, env_key: str | None = None) -> AuditKeys:
    if env_key is None and not key_file.exists():
        _create_key_file(key_file)
    stored = _parse_keys(key_file) if key_file.exists() else []
    found = dict(stored)
    if env_key is not None:
        if len(env_key) < _MIN_KEY:
            raise InvalidInput(
                f"RELAY_AUDIT_KEY must be at least {_MIN_KEY} characters (got "
                f"{len(env_key)}); generate one with: python -c 'import secrets; "
                "print(secrets.token_hex(32))'"
            )
        secret = env_key.encode()
        current = "env-" + hashlib.sha256(secret).hexdigest()[:12]
        found[current] = secret
        return AuditKeys(current, found)
    if not stored:
        raise InvalidInput(f"the audit key file {key_file} holds no key; delete it to start anew")
    return AuditKeys(stored[-1][0], found)


def rotate_key(key_file: Path) -> str:
    """Append a new signing key; the old ones stay to verify what they signed."""
    if not key_file.exists():
        _create_key_file(key_file)
        return _parse_keys(key_file)[-1][0]
    _parse_keys(key_file)  # refuses a file others can read
    line = _new_key_line()
    with open(key_file, "a") as f:
        f.write(line)
    return line.split(" ", 1)[0]


class CheckpointLog:
    """Append-only JSON lines at `target` (a path), or stdout when `target` is "-"."""

    def __init__(self, target: str) -> None:
        self.target = target

    @property
    def readable(self) -> bool:
        return self.target != STDOUT

    def append(self, cp: Checkpoint) -> None:
        line = (cp.to_json() + "\n").encode()
        if not self.readable:
            sys.stdout.buffer.write(b"relay-audit-checkpoint " + line)
            sys.stdout.flush()
            return
        path = Path(self.target)
        path.parent.mkdir(parents=True, exist_ok=True)
        # One write() on an O_APPEND descriptor: concurrent writers never interleave a line.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> list[Checkpoint] | None:
        """Every checkpoint in order; a line that does not parse comes back unsigned (so it
        fails verification, naming its line). None when checkpoints go to stdout."""
        if not self.readable:
            return None
        path = Path(self.target)
        if not path.exists():
            return []
        out = []
        for n, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if not raw.strip():
                continue
            try:
                d = json.loads(raw)
                out.append(
                    Checkpoint(
                        seq=int(d["seq"]),
                        hash=str(d["hash"]),
                        ts=str(d["ts"]),
                        key_id=str(d["key_id"]),
                        mac=str(d["mac"]),
                        line=n,
                    )
                )
            except (ValueError, KeyError, TypeError):
                out.append(Checkpoint(seq=0, hash="", ts="", key_id="", mac="", line=n))
        return out


@dataclass
class AuditAnchor:
    keys: AuditKeys
    checkpoints: CheckpointLog
    every: int = 1000

    @classmethod
    def open(cls, key_file: Path, env_key: str | None, checkpoints: str, every: int) -> AuditAnchor:
        return cls(load_keys(key_file, env_key), CheckpointLog(checkpoints), every)

    def due(self, first_seq: int, last_seq: int) -> bool:
        """Whether events first..last cross a checkpoint: the first event, or a multiple of
        `every`."""
        if first_seq <= 1 <= last_seq:
            return True
        return last_seq // self.every > (first_seq - 1) // self.every
