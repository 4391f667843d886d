"""Engines for SQLite (embedded default) and PostgreSQL, and schema migration on first use."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from relayml.errors import InvalidInput, SchemaVersionError, ServerUnavailable, Timeout

# The newest migration this code knows. tests/store/test_migrations.py checks it equals Alembic's
# head, so first use needs no Alembic import when the database is current.
SCHEMA_HEAD = "0030"
_MIGRATIONS = Path(__file__).parent / "migrations"
_lock = threading.Lock()


def make_engine(url: str, statement_timeout: float | None = None) -> Engine:
    """An engine whose every statement stops after `statement_timeout` seconds (a `Timeout`
    error, see `timeout_error`; None: no limit): PostgreSQL's own statement_timeout, a progress
    handler on SQLite.
    Migrations run without it."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(
            f"invalid database URL {url!r}; use sqlite:///path/relay.db or "
            "postgresql+psycopg://user@host:5432/db"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # A pooled connection stays open between transactions: closing the last connection to
        # a WAL database checkpoints it, which would cost every write several milliseconds.
        engine = create_engine(
            parsed,
            connect_args={"timeout": 60, "check_same_thread": False},
            pool_size=5,
            max_overflow=10,
        )
        _sqlite_events(engine, statement_timeout)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            connect_args={
                "options": f"-c statement_timeout={int((statement_timeout or 0) * 1000)}"
            },
        )
        return engine
    raise InvalidInput(
        f"unsupported database {parsed.get_backend_name()!r} in {url!r}; use SQLite or PostgreSQL"
    )


def _sqlite_events(engine: Engine, statement_timeout: float | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        # Manage transactions ourselves so writers can take the lock up front (BEGIN IMMEDIATE):
        # with many processes, upgrading a read lock to a write lock is what deadlocks into
        # "database is locked"; waiting on busy_timeout for an immediate lock does not.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA case_sensitive_like=ON")
        cur.close()
        # SQLite has no statement timeout: a progress handler, called every few thousand
        # virtual-machine steps, interrupts a statement past its deadline. The deadline is set
        # when a statement starts and cleared at commit or rollback (which it must not stop).
        deadline = [0.0]
        record.info["relay_deadline"] = deadline
        dbapi_conn.set_progress_handler(
            lambda: 1 if deadline[0] and time.monotonic() > deadline[0] else 0, 10_000
        )

    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(conn: Any, *_args: Any) -> None:
        deadline = conn.connection.info.get("relay_deadline")
        if deadline is not None:
            limit = conn.get_execution_options().get("relay_timeout", statement_timeout)
            deadline[0] = time.monotonic() + limit if limit else 0.0

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn: Any) -> None:
        deadline = conn.connection.info.get("relay_deadline")
        if deadline is not None:
            deadline[0] = 0.0

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("relay_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(relay_readonly=True)
            if not inspect(conn).has_table("alembic_version"):
                return None
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
            return str(row[0]) if row else None
    except OperationalError as exc:
        raise ServerUnavailable(
            f"cannot open the metadata database {engine.url.render_as_string()}: {exc.orig}"
        ) from None


def _alembic_config(connection: Any, audit_anchor: Any = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    # Migration 0009 MACs the events written before it with the audit key (see its docstring).
    cfg.attributes["audit_anchor"] = audit_anchor
    return cfg


def known_revisions() -> set[str]:
    return {p.stem.split("_", 1)[0] for p in (_MIGRATIONS / "versions").glob("[0-9]*.py")}


def upgrade(engine: Engine, audit_anchor: Any = None) -> tuple[str | None, str]:
    """Migrate to the newest schema; returns (before, after). `audit_anchor` (an
    `AuditAnchor`) MACs an existing audit trail on the way through revision 0009."""
    from alembic import command

    with _lock:
        before = current_revision(engine)
        _refuse_newer(engine, before)
        if before == SCHEMA_HEAD:
            return before, before
        with engine.connect() as plain, plain.execution_options(relay_timeout=0).begin():
            conn = plain
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL statement_timeout = 0"))  # a migration takes its time
                # Two processes migrating one fresh database at once: the second waits.
                conn.execute(text("SELECT pg_advisory_xact_lock(7419)"))
            command.upgrade(_alembic_config(conn, audit_anchor), "head")
        return before, SCHEMA_HEAD


def ensure_schema(engine: Engine, audit_anchor: Any = None) -> None:
    """Create or migrate the schema on first use; refuse a database newer than this code."""
    rev = current_revision(engine)
    if rev == SCHEMA_HEAD:
        return
    _refuse_newer(engine, rev)
    upgrade(engine, audit_anchor)


def _refuse_newer(engine: Engine, rev: str | None) -> None:
    if rev is not None and rev not in known_revisions():
        raise SchemaVersionError(
            f"the database {engine.url.render_as_string()} is at schema revision {rev!r}, "
            f"newer than this Relay knows (newest: {SCHEMA_HEAD!r}); upgrade relayml "
            "(pip install -U relayml) rather than using an older version against it"
        )


def timeout_error(exc: DBAPIError, timeout: float | None) -> Timeout | None:
    """The `Timeout` for a statement stopped by its time limit, None for any other failure."""
    orig = exc.orig
    stopped = type(orig).__name__ == "QueryCanceled" or (
        isinstance(orig, sqlite3.OperationalError) and str(orig) == "interrupted"
    )
    if not stopped:
        return None
    return Timeout(
        f"a database statement ran longer than {timeout or 0:g} s and was stopped; narrow the "
        "request "
        "(fewer conditions, a smaller page) or raise RELAY_STATEMENT_TIMEOUT on the server"
    )
