"""What a run captures about where it ran: git state, Python and package versions, host."""

from __future__ import annotations

import functools
import platform
import socket
import subprocess
import sys
from importlib import metadata

KEY_PACKAGES = ("relayml", "numpy", "pandas", "scikit-learn", "torch", "xgboost", "lightgbm")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=2, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


@functools.cache
def _process_tags() -> tuple[tuple[str, str], ...]:
    """What cannot change while the process lives: looked up once, not per run."""
    tags = {
        "relay.python": platform.python_version(),
        "relay.host": socket.gethostname(),
        "relay.platform": sys.platform,
    }
    for name in KEY_PACKAGES:
        try:
            tags[f"relay.pkg.{name}"] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return tuple(tags.items())


def capture() -> dict[str, str]:
    """The run's context; the git state is read each time (the working tree changes)."""
    tags = dict(_process_tags())
    commit = _git("rev-parse", "HEAD")
    if commit:
        tags["relay.git.commit"] = commit
        status = _git("status", "--porcelain", "--untracked-files=no")
        tags["relay.git.dirty"] = "true" if status else "false"
    return tags
