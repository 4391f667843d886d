"""Experiments, runs, params, metrics, tags and artifact records in SQL."""

from __future__ import annotations

from collections.abc import Sequence
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
from relayml.store.sql import summary
from relayml.store.sql._util import from_db_float, to_db_float, upsert, utc
from relayml.store.sql.search import page_query, search_query, sort_key

_NAIVE_TEXT = len("2026-01-01 00:00:00.000000")
_STATUS = {s.value: s for s in RunStatus}


def _when(value: Any) -> datetime:
    """SQLite hands timestamps back as text (naive UTC, as SQLAlchemy wrote them), PostgreSQL
    as datetimes. Parsing with the offset appended is several times faster than `.replace`."""
    if isinstance(value, str):
        if len(value) == _NAIVE_TEXT:
            return datetime.fromisoformat(value + "+00:00")
        value = datetime.fromisoformat(value)
    return utc(value)


def _record(row: Sequence[Any]) -> RunRecord:
    """A `page_query` row as a run (a page is hundreds of these: keep it lean)."""
    rid, project, exp, name, status, user, start, end, parent, doc, beat = row[:11]
    params, tags, metrics = summary.decode(doc)
    return RunRecord(
        id=rid,
        project=project,
        experiment=exp,
        name=name,
        status=_STATUS[status],
        user=user,
        start_time=_when(start),
        end_time=_when(end) if end is not None else None,
        parent_id=parent,
        params=params,
        metrics=metrics,
        tags=tags,
        last_heartbeat=_when(beat) if beat is not None else None,
    )


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
                last_heartbeat=now,
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

    def run_owner_status(self, run_id: str) -> tuple[str, RunStatus]:
        r = s.runs.c
        user, status = self.conn.execute(select(r.user, r.status).where(r.id == run_id)).one()
        return str(user), _STATUS[status]

    def set_status(self, run_id: str, status: RunStatus, end_time: datetime | None) -> None:
        self.conn.execute(
            update(s.runs)
            .where(s.runs.c.id == run_id)
            .values(status=status.value, end_time=end_time)
        )

    def get_run(self, run_id: str, lost_before: datetime | None = None) -> RunRecord | None:
        """The run; `lost` if it is running and silent since before `lost_before`."""
        q = page_query().where(s.runs.c.id == run_id)
        row = self.conn.execute(q, {"lost_before": lost_before}).first()
        return _record(row) if row else None

    def heartbeat(self, run_id: str, now: datetime) -> None:
        """The run's process is alive (an ended run keeps its last heartbeat)."""
        r = s.runs.c
        self.conn.execute(
            update(s.runs)
            .where(r.id == run_id, r.status == RunStatus.RUNNING.value)
            .values(last_heartbeat=now)
        )

    # params, tags, metrics -------------------------------------------------------------
    def log(
        self,
        run_id: str,
        *,
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        points: Sequence[MetricPoint] = (),
    ) -> int:
        """Write params, tags and metric points, then the run's summary; returns the points.

        The run's row is locked first (FOR NO KEY UPDATE on PostgreSQL, which still lets other
        transactions insert rows referencing the run; SQLite writers hold the whole database), so
        two writers to one run cannot lose each other's summary changes.
        """
        if not params and not tags and not points:
            return 0
        r = s.runs.c
        doc = self.conn.execute(
            select(r.summary).where(r.id == run_id).with_for_update(key_share=True)
        ).scalar_one()
        cur_params, cur_tags, cur_metrics = summary.decode(doc)
        if params:
            self._log_params(run_id, params, cur_params)
        if tags:
            rows = [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()]
            upsert(self.conn, s.tags, rows, ["run_id", "key"], ["value"])
            cur_tags.update(tags)
        written = self._log_metrics(run_id, points, cur_metrics) if points else 0
        new_doc = summary.encode(cur_params, cur_tags, cur_metrics)
        self.conn.execute(update(s.runs).where(r.id == run_id).values(summary=new_doc))
        return written

    def _log_params(self, run_id: str, values: dict[str, str], current: dict[str, str]) -> None:
        """Params are immutable: the same value again is fine, a different one is refused."""
        for key, value in values.items():
            if key in current and current[key] != value:
                raise Conflict(
                    f"param {key!r} of run {run_id} is already {current[key]!r}; params are "
                    f"immutable, so it cannot become {value!r}. Log it under another key or "
                    "start a new run"
                )
        new = [
            {"run_id": run_id, "key": k, "value": v} for k, v in values.items() if k not in current
        ]
        if new:
            self.conn.execute(s.params.insert(), new)
            current.update({row["key"]: row["value"] for row in new})

    def _log_metrics(
        self, run_id: str, points: Sequence[MetricPoint], current: dict[str, float]
    ) -> int:
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
        # An older point than the stored latest leaves that value: read back what won.
        lm = s.latest_metrics.c
        won = select(lm.key, lm.value).where(lm.run_id == run_id, lm.key.in_(list(latest)))
        for key, value in self.conn.execute(won):
            current[key] = from_db_float(value)
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

    def search_runs(
        self,
        project: str,
        experiments: list[str] | None,
        conditions: list[Condition],
        order_by: list[OrderBy],
        limit: int,
        after: list[Any] | None = None,
        lost_before: datetime | None = None,
    ) -> tuple[list[RunRecord], list[Any] | None]:
        """Up to `limit` runs (after the run whose sort key is `after`), and the sort key of
        the last one when more follow (None on the last page)."""
        q, values = search_query(
            project, experiments, conditions, order_by, limit + 1, after, lost_before
        )
        rows = self.conn.execute(q, values).all()
        more = len(rows) > limit
        rows = rows[:limit]
        last = sort_key(order_by, rows[-1]) if more else None
        return [_record(row) for row in rows], last

    # artifacts ---------------------------------------------------------------------------
    def artifact_digest(self, run_id: str, path: str) -> str | None:
        a = s.artifacts.c
        q = select(a.digest).where(a.run_id == run_id, a.path == path)
        row = self.conn.execute(q).first()
        return str(row[0]) if row else None

    def add_artifacts(self, run_id: str, items: Sequence[ArtifactInfo], now: datetime) -> None:
        """Record new paths (a path once written is never replaced: the service checks)."""
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
        self.conn.execute(s.artifacts.insert(), rows)

    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]:
        a = s.artifacts.c
        q = select(a.path, a.digest, a.size).where(a.run_id == run_id).order_by(a.path)
        if prefix:
            p = prefix.rstrip("/")
            q = q.where(or_(a.path == p, a.path.startswith(p + "/", autoescape=True)))
        return [ArtifactInfo(p, d, int(sz)) for p, d, sz in self.conn.execute(q)]
