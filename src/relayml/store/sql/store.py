"""The SQL metadata store: transactions that hand out one repository per area."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from relayml.errors import Conflict, ServerUnavailable
from relayml.store.audit_anchor import AuditAnchor
from relayml.store.sql.audit import SqlAudit
from relayml.store.sql.blobs import SqlBlobs
from relayml.store.sql.datasets import SqlDatasets
from relayml.store.sql.deployments import SqlDeployments
from relayml.store.sql.engine import current_revision, ensure_schema, make_engine, timeout_error
from relayml.store.sql.idempotency import SqlIdempotency
from relayml.store.sql.identity import SqlIdentity
from relayml.store.sql.loops import SqlLoops
from relayml.store.sql.models import SqlModels
from relayml.store.sql.monitors import SqlMonitors
from relayml.store.sql.notifications import SqlNotifications
from relayml.store.sql.operations import SqlOperations
from relayml.store.sql.pipelines import SqlPipelines
from relayml.store.sql.roles import SqlRoles
from relayml.store.sql.scheduling import SqlSchedules
from relayml.store.sql.sessions import SqlSessions
from relayml.store.sql.storage import SqlStorage
from relayml.store.sql.tracking import SqlTracking


class SqlTx:
    """One database transaction; every repository in it commits or rolls back together."""

    def __init__(self, conn: Connection, anchor: AuditAnchor | None = None) -> None:
        self.conn = conn
        self.identity = SqlIdentity(conn)
        self.audit = SqlAudit(conn, anchor.keys if anchor else None)
        self.tracking = SqlTracking(conn)
        self.pipelines = SqlPipelines(conn)
        self.datasets = SqlDatasets(conn)
        self.schedules = SqlSchedules(conn)
        self.notifications = SqlNotifications(conn)
        self.storage = SqlStorage(conn)
        self.blobs = SqlBlobs(conn)
        self.models = SqlModels(conn)
        self.idempotency = SqlIdempotency(conn)
        self.deployments = SqlDeployments(conn)
        self.roles = SqlRoles(conn)
        self.sessions = SqlSessions(conn)
        self.loops = SqlLoops(conn)
        self.monitors = SqlMonitors(conn)
        self.operations = SqlOperations(conn)


class SqlStore:
    def __init__(
        self,
        url: str,
        anchor: AuditAnchor | None = None,
        *,
        statement_timeout: float | None = None,
    ) -> None:
        self.url = url
        self.anchor = anchor
        self.statement_timeout = statement_timeout
        self.engine = make_engine(url, statement_timeout)
        try:
            ensure_schema(self.engine, anchor)
        except BaseException:
            self.engine.dispose()
            raise

    @contextmanager
    def write(self) -> Iterator[SqlTx]:
        try:
            with self.engine.begin() as conn:
                yield SqlTx(conn, self.anchor)
        except SAIntegrityError as exc:
            raise Conflict(f"conflicting write: {_short(exc)}") from None
        except DBAPIError as exc:
            raise self._translate(exc) from None

    @contextmanager
    def read(self) -> Iterator[SqlTx]:
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(relay_readonly=True)
                if conn.dialect.name == "postgresql":
                    # One snapshot for the whole read (SQLite's WAL reads are snapshots
                    # already): `audit verify` reads the head, then the events in batches,
                    # while others write.
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield SqlTx(conn, self.anchor)
        except DBAPIError as exc:
            raise self._translate(exc) from None

    def _translate(self, exc: DBAPIError) -> Exception:
        if exc.connection_invalidated:
            return ServerUnavailable(f"lost the database connection: {_short(exc)}")
        return timeout_error(exc, self.statement_timeout) or exc

    def schema_revision(self) -> str | None:
        return current_revision(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def _short(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc)).strip().splitlines()
    return text[0] if text else type(exc).__name__
