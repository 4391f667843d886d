"""Experiments, runs, params, metrics, tags and artifact records in SQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from relayml.domain.filters import Condition, OrderBy
from relayml.domain.tracking import (
    ArtifactInfo,
    Experiment,
    MetricPoint,
    RunRecord,
    RunStatus,
)
from relayml.errors import Conflict
from relayml.store.sql import schema as s
from relayml.store.sql._util import from_db_float, to_db_float, upsert, utc
from relayml.store.sql.search import search_run_ids

# get_runs' statements, run on the DBAPI cursor: a page of runs is thousands of small rows, and
# per-row result processing cost more than the database did (benchmarks/RESULTS.md, search).
# Fixed text; only the number of "?"/"%s" placeholders varies, never a value.
_RUNS_BY_ID = (
    "SELECT runs.id, experiments.project, experiments.name, runs.name, runs.status, runs.user, "
    "runs.start_time, runs.end_time, runs.parent_id FROM runs JOIN experiments "
    "ON experiments.id = runs.experiment_id WHERE runs.id IN ({ids})"
)
_KEYS_BY_RUN = "SELECT run_id, key, value FROM {table} WHERE run_id IN ({ids})"


_SLICE = 10_000


def _slice_size(conn: Connection) -> int:
    """Ids per statement: SQLite builds cap bound variables (32,766 by default, some lower)."""
    getlimit = getattr(conn.connection.dbapi_connection, "getlimit", None)
    if getlimit is None:
        return _SLICE
    return max(1, min(_SLICE, int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))))


def _placeholders(conn: Connection, n: int) -> str:
    return ", ".join(["?" if conn.dialect.paramstyle == "qmark" else "%s"] * n)


def _when(value: Any) -> datetime:
    """SQLite hands timestamps back as text, PostgreSQL as datetimes."""
    return utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


class SqlTracking:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # experiments -------------------------------------------------------------------------
    def experiment_id(self, project: str, name: str) -> int | None:
        e = s.experiments.c
        row = self.conn.execute(select(e.id).where(e.project == project, e.name == name)).first()
        return int(row[0]) if row else None

    def ensure_experiment(self, project: str, name: str, by: str, now: datetime) -> int:
        found = self.experiment_id(project, name)
        if found is not None:
            return found
        row = {"project": project, "name": name, "created_at": now, "created_by": by}
        upsert(self.conn, s.experiments, [row], ["project", "name"], [])
        found = self.experiment_id(project, name)
        assert found is not None
        return found

    def list_experiments(self, project: str) -> list[Experiment]:
        e, r = s.experiments.c, s.runs.c
        q = (
            select(s.experiments, func.count(r.id).label("n"))
            .select_from(s.experiments.outerjoin(s.runs, r.experiment_id == e.id))
            .where(e.project == project)
            .group_by(e.id)
            .order_by(e.name)
        )
        return [
            Experiment(row.project, row.name, utc(row.created_at), row.created_by, int(row.n))
            for row in self.conn.execute(q)
        ]

    # runs --------------------------------------------------------------------------------
    def create_run(
        self,
        *,
        run_id: str,
        experiment_id: int,
        name: str,
        user: str,
        now: datetime,
        parent_id: str | None,
    ) -> None:
        self.conn.execute(
            s.runs.insert().values(
                id=run_id,
                experiment_id=experiment_id,
                name=name,
                status=RunStatus.RUNNING.value,
                user=user,
                start_time=now,
                end_time=None,
                parent_id=parent_id,
            )
        )

    def run_project(self, run_id: str) -> str | None:
        r, e = s.runs.c, s.experiments.c
        q = select(e.project).select_from(s.runs.join(s.experiments)).where(r.id == run_id)
        row = self.conn.execute(q).first()
        return str(row[0]) if row else None

    def run_status(self, run_id: str) -> RunStatus | None:
        row = self.conn.execute(select(s.runs.c.status).where(s.runs.c.id == run_id)).first()
        return RunStatus(row[0]) if row else None

    def set_status(self, run_id: str, status: RunStatus, end_time: datetime | None) -> None:
        self.conn.execute(
            update(s.runs)
            .where(s.runs.c.id == run_id)
            .values(status=status.value, end_time=end_time)
        )

    def get_runs(self, run_ids: Sequence[str]) -> list[RunRecord]:
        """Runs with their params, tags and latest metrics, in the order of `run_ids`."""
        if not run_ids:
            return []
        records: dict[str, RunRecord] = {}
        cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            size = _slice_size(self.conn)
            for lo in range(0, len(run_ids), size):
                self._load_runs(cursor, list(run_ids[lo : lo + size]), records)
        finally:
            cursor.close()
        return [records[i] for i in run_ids if i in records]

    def _load_runs(self, cursor: Any, ids: list[str], records: dict[str, RunRecord]) -> None:
        marks = _placeholders(self.conn, len(ids))
        cursor.execute(_RUNS_BY_ID.format(ids=marks), ids)
        for rid, project, exp, name, status, user, start, end, parent in cursor.fetchall():
            records[rid] = RunRecord(
                id=rid,
                project=project,
                experiment=exp,
                name=name,
                status=RunStatus(status),
                user=user,
                start_time=_when(start),
                end_time=_when(end) if end is not None else None,
                parent_id=parent,
            )
        for table in ("params", "tags"):
            cursor.execute(_KEYS_BY_RUN.format(table=table, ids=marks), ids)
            for run_id, key, value in cursor.fetchall():
                getattr(records[run_id], table)[key] = value
        cursor.execute(_KEYS_BY_RUN.format(table="latest_metrics", ids=marks), ids)
        for run_id, key, value in cursor.fetchall():
            records[run_id].metrics[key] = from_db_float(value)

    # params & tags -----------------------------------------------------------------------
    def log_params(self, run_id: str, values: dict[str, str]) -> None:
        """Params are immutable: the same value again is fine, a different one is refused."""
        if not values:
            return
        p = s.params.c
        existing = dict(
            self.conn.execute(
                select(p.key, p.value).where(p.run_id == run_id, p.key.in_(list(values)))
            ).all()
        )
        for key, value in values.items():
            if key in existing and existing[key] != value:
                raise Conflict(
                    f"param {key!r} of run {run_id} is already {existing[key]!r}; params are "
                    f"immutable, so it cannot become {value!r}. Log it under another key or "
                    "start a new run"
                )
        new = [
            {"run_id": run_id, "key": k, "value": v} for k, v in values.items() if k not in existing
        ]
        if new:
            self.conn.execute(s.params.insert(), new)

    def set_tags(self, run_id: str, values: dict[str, str]) -> None:
        rows = [{"run_id": run_id, "key": k, "value": v} for k, v in values.items()]
        upsert(self.conn, s.tags, rows, ["run_id", "key"], ["value"])

    # metrics -----------------------------------------------------------------------------
    def log_metrics(self, run_id: str, points: Iterable[MetricPoint]) -> int:
        rows: list[dict[str, Any]] = []
        latest: dict[str, MetricPoint] = {}
        for pt in points:
            rows.append(
                {
                    "run_id": run_id,
                    "key": pt.key,
                    "value": to_db_float(pt.value),
                    "step": pt.step,
                    "timestamp": pt.timestamp,
                }
            )
            cur = latest.get(pt.key)
            if cur is None or (pt.step, pt.timestamp) >= (cur.step, cur.timestamp):
                latest[pt.key] = pt
        if not rows:
            return 0
        self.conn.execute(s.metrics.insert(), rows)
        upsert(
            self.conn,
            s.latest_metrics,
            [
                {
                    "run_id": run_id,
                    "key": k,
                    "value": to_db_float(pt.value),
                    "step": pt.step,
                    "timestamp": pt.timestamp,
                }
                for k, pt in latest.items()
            ],
            ["run_id", "key"],
            ["value", "step", "timestamp"],
            where=lambda t, ex: or_(
                ex.step > t.c.step, and_(ex.step == t.c.step, ex.timestamp >= t.c.timestamp)
            ),
        )
        return len(rows)

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        m = s.metrics.c
        q = (
            select(m.key, m.value, m.step, m.timestamp)
            .where(m.run_id == run_id, m.key == key)
            .order_by(m.step, m.timestamp, m.id)
        )
        return [
            MetricPoint(k, from_db_float(v), int(st), int(ts))
            for k, v, st, ts in self.conn.execute(q)
        ]

    def search_ids(
        self,
        project: str,
        experiments: list[str] | None,
        conditions: list[Condition],
        order_by: list[OrderBy],
        limit: int,
        offset: int,
    ) -> list[str]:
        return search_run_ids(self.conn, project, experiments, conditions, order_by, limit, offset)

    # artifacts ---------------------------------------------------------------------------
    def add_artifacts(self, run_id: str, items: Sequence[ArtifactInfo], now: datetime) -> None:
        rows = [
            {
                "run_id": run_id,
                "path": a.path,
                "digest": a.digest,
                "size": a.size,
                "created_at": now,
            }
            for a in items
        ]
        upsert(self.conn, s.artifacts, rows, ["run_id", "path"], ["digest", "size", "created_at"])

    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]:
        a = s.artifacts.c
        q = select(a.path, a.digest, a.size).where(a.run_id == run_id).order_by(a.path)
        if prefix:
            p = prefix.rstrip("/")
            q = q.where(or_(a.path == p, a.path.startswith(p + "/", autoescape=True)))
        return [ArtifactInfo(p, d, int(sz)) for p, d, sz in self.conn.execute(q)]
