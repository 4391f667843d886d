"""Fixtures for pipeline tests: an embedded backend and pipeline modules written to files."""

from __future__ import annotations

import os
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from relayml.client.base import Backend
from relayml.sdk.session import connect
from tests.conftest import settings_for
from tests.processes import no_process_outlives

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


@pytest.fixture(autouse=True)
def _no_process_outlives_the_test() -> Iterator[None]:
    """After every pipeline test, no process it started (a step worker above all) is left."""
    with no_process_outlives(ignore=_RAY_MARKS):
        yield
