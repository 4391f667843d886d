"""Scratch directories: where Relay stages files (a dataset being normalized, a download, a
pipeline's work), removed on every exit path that runs Python: return, exception, Ctrl-C and
SIGTERM (the CLI and the SDK turn it into SystemExit). A process killed outright (kill -9,
OOM) leaves its directory behind; they all live under one per-user folder in the system temp
directory, named with their creator's pid, so `relay gc` finds those whose creator is gone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def scratch_root() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else os.getpid()
    return Path(tempfile.gettempdir()) / f"relayml-{uid}"


def make_scratch(prefix: str) -> Path:
    """A new scratch directory; the caller removes it (prefer `scratch_dir`)."""
    root = scratch_root()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}-{os.getpid()}-", dir=root))


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    path = make_scratch(prefix)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class ScratchDir:
    path: Path
    pid: int
    size: int
    mtime: float  # the newest modification inside it


def pid_alive(pid: int) -> bool:
    """Whether process `pid` still runs (one owned by another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphaned_scratch() -> list[ScratchDir]:
    """Scratch directories whose creating process no longer runs."""
    root = scratch_root()
    if not root.is_dir():
        return []
    found = []
    for entry in root.iterdir():
        parts = entry.name.rsplit("-", 2)
        if not entry.is_dir() or len(parts) != 3 or not parts[1].isdigit():
            continue
        pid = int(parts[1])
        if pid_alive(pid):
            continue
        size, newest = 0, entry.stat().st_mtime
        for sub in entry.rglob("*"):
            with contextlib.suppress(OSError):
                st = sub.stat()
                size += st.st_size if sub.is_file() else 0
                newest = max(newest, st.st_mtime)
        found.append(ScratchDir(entry, pid, size, newest))
    return found


def remove_scratch(path: Path) -> None:
    if path.parent != scratch_root():
        raise ValueError(f"{path} is not a Relay scratch directory")
    shutil.rmtree(path, ignore_errors=True)
