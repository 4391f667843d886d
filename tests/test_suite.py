"""The suite proves what it claims: PostgreSQL runs when it is there, and nothing is timed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from tests.conftest import DEFAULT_PG_URL, _pg_unreachable

ROOT = Path(__file__).resolve().parents[1]
PG_TEST = "tests/store/test_migrations.py::test_first_use_creates_and_upgrade_is_idempotent"


def _pytest(*args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    for key, value in env.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_postgres_runs_at_the_default_address_without_configuration() -> None:
    if _pg_unreachable(DEFAULT_PG_URL) is not None:
        pytest.skip(f"no PostgreSQL at {DEFAULT_PG_URL} to prove it with")
    out = _pytest(f"{PG_TEST}[postgres]", "-q", RELAY_TEST_DATABASE_URL=None, CI=None)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout and "skipped" not in out.stdout, out.stdout


def test_an_unreachable_postgres_is_announced_in_the_summary() -> None:
    out = _pytest(
        f"{PG_TEST}[postgres]",
        "-q",
        RELAY_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/test",
        CI=None,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "PostgreSQL NOT TESTED" in out.stdout, out.stdout
    assert "1 PostgreSQL tests were SKIPPED: PostgreSQL leg skipped: cannot connect to" in (
        out.stdout
    )


def test_in_ci_an_unreachable_postgres_fails_the_run() -> None:
    out = _pytest(
        f"{PG_TEST}[postgres]",
        "-q",
        RELAY_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/test",
        CI="true",
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "PostgreSQL is required in CI" in out.stdout, out.stdout


def test_hypothesis_has_no_wall_clock_deadline() -> None:
    """A loaded machine makes an example slow, not wrong."""
    assert settings.default is not None and settings.default.deadline is None
    # what @settings(max_examples=...) builds inherits it, as in tests/domain/test_filters.py
    assert settings(max_examples=400).deadline is None
