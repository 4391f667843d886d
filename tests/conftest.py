"""Shared fixtures: fresh stores on SQLite and PostgreSQL, and a real Relay server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from relayml.config import Settings

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_URL = os.environ.get("RELAY_TEST_DATABASE_URL") or DEFAULT_PG_URL
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_SKIPPED = "PostgreSQL leg skipped"
"""Every skip for an unreachable PostgreSQL starts with this; the terminal summary counts them."""

# No wall-clock deadline per example: the suite shares small machines, and a slow example is
# not a wrong one (hypothesis's default of 200 ms failed the filter tests under load).
# The custom checks an operator put on the allow-list, for the contract suite's trusted-checks
# test: the in-process services read it, and the servers tests start inherit it.
os.environ.setdefault("RELAY_TRUSTED_CHECKS", "relayml.testing.checks:positive_amount")

hypothesis_settings.register_profile("relay", deadline=None)
hypothesis_settings.load_profile("relay")


def settings_for(home: Path, database_url: str | None = None, user: str = "admin") -> Settings:
    return Settings(
        home=home,
        database_url=database_url or f"sqlite:///{home / 'relay.db'}",
        artifact_uri=str(home / "artifacts"),
        server_url=None,
        token=None,
        user=user,
    )


@contextmanager
def _scratch_database(url: str, prefix: str) -> Iterator[str]:
    """A new, empty database next to `url`'s, dropped afterwards (open connections too)."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_unreachable(url: str) -> str | None:
    """Why PostgreSQL at `url` cannot be used, or None when a connection succeeds."""
    import psycopg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test process, dropped afterwards.

    PostgreSQL is used whenever it answers at RELAY_TEST_DATABASE_URL (default: the local
    server CI uses); otherwise its tests are skipped, loudly, and in CI (CI=true) they fail.
    """
    problem = _pg_unreachable(PG_URL)
    if problem is not None:
        from sqlalchemy.engine import make_url

        why = f"cannot connect to {make_url(PG_URL).render_as_string()} ({problem})"
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {why}", pytrace=False)
        pytest.skip(f"{PG_SKIPPED}: {why}; start PostgreSQL or set RELAY_TEST_DATABASE_URL")
    with _scratch_database(PG_URL, "relay_test") as url:
        yield url


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly that the PostgreSQL leg did not run: a skip in -ra is easy to miss."""
    skipped = [
        r
        for r in terminalreporter.stats.get("skipped", [])
        if isinstance(r.longrepr, tuple) and PG_SKIPPED in str(r.longrepr[2])
    ]
    if not skipped:
        return
    reason = str(skipped[0].longrepr[2]).removeprefix("Skipped: ")
    terminalreporter.section("PostgreSQL NOT TESTED", sep="!", red=True, bold=True)
    terminalreporter.line(
        f"{len(skipped)} PostgreSQL tests were SKIPPED: {reason}. "
        "This run proves less than CI does.",
        red=True,
        bold=True,
    )


@pytest.fixture
def fresh_pg(pg_database: str) -> Iterator[str]:
    """An empty PostgreSQL database per test (for tests that need the whole store to
    themselves, like audit tampering)."""
    with _scratch_database(pg_database, "relay_t") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty metadata database URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'relay.db'}"
    return str(request.getfixturevalue("fresh_pg"))


@pytest.fixture(autouse=True)
def _forget_sdk_session() -> Iterator[None]:
    """A test that touched the SDK's process-wide session must not hand it to the next test."""
    yield
    from relayml.sdk import session

    session.reset()
