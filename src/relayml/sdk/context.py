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
    """The run's context; the git state is read each time (the working tree changes), by one
    `git status` whose porcelain v2 header carries the commit."""
    tags = dict(_process_tags())
    status = _git("status", "--porcelain=v2", "--branch", "--untracked-files=no")
    if status is None:
        return tags  # not a git work tree, or no git
    lines = status.splitlines()
    commit = next((ln.split()[2] for ln in lines if ln.startswith("# branch.oid ")), None)
    if commit and commit != "(initial)":
        tags["relay.git.commit"] = commit
        dirty = any(not ln.startswith("#") for ln in lines)
        tags["relay.git.dirty"] = "true" if dirty else "false"
    return tags
