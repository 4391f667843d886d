"""Shared fixtures: fresh stores on SQLite and PostgreSQL, and a real Relay server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from relayml.config import Settings

PG_URL = os.environ.get("RELAY_TEST_DATABASE_URL")


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


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test process, dropped afterwards."""
    if not PG_URL:
        pytest.skip("RELAY_TEST_DATABASE_URL is not set (make test sets it in CI)")
    with _scratch_database(PG_URL, "relay_test") as url:
        yield url


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
