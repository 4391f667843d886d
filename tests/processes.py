"""Which processes a test left behind: the process-tree check pipeline tests run after each
test, and tests that kill a process of their own (kill -9 of a logging run) use."""

from __future__ import annotations

import ctypes
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def live_descendants(root: int) -> dict[int, str]:
    """Every process below `root` that is still running (zombies are gone), with its command."""
    table: dict[int, tuple[int, str, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        table[int(entry)] = (int(fields[1]), fields[0], cmd)
    below: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, state, cmd) in table.items():
            if ppid == parent and pid not in below:
                frontier.append(pid)
                if state != "Z":
                    below[pid] = cmd
    return below


def become_subreaper() -> None:
    """Orphans of this process's descendants are re-parented to it (not to init), so a process
    whose parent died (a step worker whose driver was killed) is still found below the test."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


@contextmanager
def no_process_outlives(ignore: tuple[str, ...] = ()) -> Iterator[None]:
    """Fail if a process started inside the block (or an orphan of one) is still running
    10 s after it; processes whose command contains one of `ignore` are left alone."""
    become_subreaper()
    me = os.getpid()
    before = set(live_descendants(me))
    yield
    deadline = time.monotonic() + 10.0
    while True:
        left = {
            pid: cmd
            for pid, cmd in live_descendants(me).items()
            if pid not in before and not any(m in cmd for m in ignore)
        }
        if not left:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"processes outlived the test: {left}")
        time.sleep(0.1)
