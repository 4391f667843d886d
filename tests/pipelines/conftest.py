"""Fixtures for pipeline tests: an embedded backend and pipeline modules written to files."""

from __future__ import annotations

import ctypes
import os
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from relayml.client.base import Backend
from relayml.sdk.session import connect
from tests.conftest import settings_for

WriteModule = Callable[[str], str]


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    b = connect(settings=settings_for(tmp_path / "home")).backend
    b.identity.ensure_project("etl")
    yield b
    b.close()


@pytest.fixture
def write_module(tmp_path: Path) -> WriteModule:
    """Write pipeline code to a fresh .py file; return its path for a 'file.py:name' ref."""

    def write(code: str) -> str:
        path = tmp_path / f"pipe_{uuid.uuid4().hex[:8]}.py"
        path.write_text(textwrap.dedent(code))
        return str(path)

    return write


def assert_process_exits(pid: int, within: float, what: str) -> None:
    """Wait up to `within` seconds for process `pid` to be gone; fail naming `what` if not."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"{what} {pid} is still alive after its timeout")


# Ray's own processes (the raylet, its idle workers, ...) live for a whole test module.
_RAY_MARKS = ("/ray/", "ray::", "raylet", "gcs_server")


def _live_descendants(root: int) -> dict[int, str]:
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


def _become_subreaper() -> None:
    """Orphans of this process's descendants are re-parented to it (not to init), so a step
    worker whose driver died is still found below the test process."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


@pytest.fixture(autouse=True)
def _no_process_outlives_the_test() -> Iterator[None]:
    """After every pipeline test, no process it started (a step worker above all) is left."""
    _become_subreaper()
    me = os.getpid()
    before = set(_live_descendants(me))
    yield
    deadline = time.monotonic() + 10.0
    while True:
        left = {
            pid: cmd
            for pid, cmd in _live_descendants(me).items()
            if pid not in before and not any(m in cmd for m in _RAY_MARKS)
        }
        if not left:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"processes outlived the test: {left}")
        time.sleep(0.1)
