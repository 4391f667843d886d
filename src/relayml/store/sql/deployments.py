"""Deployments in SQL: the deployment rows, their history, prediction-log segments, feedback."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from relayml.domain.deployments import (
    Deployment,
    DeploymentAction,
    DeploymentChange,
    DeploymentState,
    DeploymentStatus,
    Feedback,
    LogSegment,
    TrafficRules,
)
from relayml.store.sql import schema as s
from relayml.store.sql._util import utc

_COLUMNS = (s.deployments, s.models.c.name.label("model_name"))


def _state_out(state: DeploymentState | None) -> dict[str, Any] | None:
    """The small codec of a change's before/after (never the wire model)."""
    if state is None:
        return None
    t = state.traffic
    return {
        "target": state.target,
        "canary": t.canary,
        "canary_percent": t.canary_percent,
        "sticky_key": t.sticky_key,
        "shadow": t.shadow,
        "primary_version": state.primary_version,
        "status": state.status.value,
    }


def _state_in(data: dict[str, Any] | None) -> DeploymentState | None:
    if data is None:
        return None
    traffic = TrafficRules(
        canary=data["canary"],
        canary_percent=float(data["canary_percent"]),
        sticky_key=data["sticky_key"],
        shadow=data["shadow"],
    )
    primary = data["primary_version"]
    return DeploymentState(
        target=data["target"],
        traffic=traffic,
        primary_version=int(primary) if primary is not None else None,
        status=DeploymentStatus(data["status"]),
    )


class SqlDeployments:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # deployments --------------------------------------------------------------------------
    def _deployment(self, row: Row[Any]) -> Deployment:
        return Deployment(
            id=row.id,
            project=row.project,
            name=row.name,
            target=row.target,
            model=row.model_name,
            traffic=TrafficRules(
                canary=row.canary,
                canary_percent=float(row.canary_percent),
                sticky_key=row.sticky_key,
                shadow=row.shadow,
            ),
            revision=int(row.revision),
            status=DeploymentStatus(row.status),
            created_by=row.created_by,
            created_at=utc(row.created_at),
            updated_by=row.updated_by,
            updated_at=utc(row.updated_at),
            unsafe_pickle=bool(row.unsafe_pickle),
        )

    def get(self, project: str, name: str) -> tuple[int, Deployment] | None:
        """The deployment and its model's id (one statement)."""
        d = s.deployments.c
        q = (
            select(*_COLUMNS)
            .select_from(s.deployments.join(s.models, s.models.c.id == d.model_id))
            .where(d.project == project, d.name == name)
        )
        row = self.conn.execute(q).first()
        if row is None:
            return None
        return int(row.model_id), self._deployment(row)

    def list_deployments(self, project: str, include_archived: bool) -> list[Deployment]:
        d = s.deployments.c
        q = (
            select(*_COLUMNS)
            .select_from(s.deployments.join(s.models, s.models.c.id == d.model_id))
            .where(d.project == project)
            .order_by(d.name)
        )
        if not include_archived:
            q = q.where(d.status == DeploymentStatus.ACTIVE.value)
        return [self._deployment(r) for r in self.conn.execute(q)]

    def _values(self, dep: Deployment) -> dict[str, Any]:
        t = dep.traffic
        return {
            "target": dep.target,
            "canary": t.canary,
            "canary_percent": t.canary_percent,
            "sticky_key": t.sticky_key,
            "shadow": t.shadow,
            "unsafe_pickle": dep.unsafe_pickle,
            "revision": dep.revision,
            "status": dep.status.value,
            "updated_by": dep.updated_by,
            "updated_at": dep.updated_at,
        }

    def insert(self, model_id: int, dep: Deployment) -> None:
        row = {
            "id": dep.id,
            "project": dep.project,
            "name": dep.name,
            "model_id": model_id,
            "created_by": dep.created_by,
            "created_at": dep.created_at,
            **self._values(dep),
        }
        self.conn.execute(insert(s.deployments).values(**row))

    def update(self, dep: Deployment, read_revision: int) -> bool:
        """Write `dep` over the row if it is still at `read_revision` (False: it changed
        meanwhile, and nothing was written)."""
        d = s.deployments.c
        done = self.conn.execute(
            update(s.deployments)
            .where(d.id == dep.id, d.revision == read_revision)
            .values(**self._values(dep))
        )
        return bool(done.rowcount)

    # history ------------------------------------------------------------------------------
    def add_change(self, deployment_id: str, change: DeploymentChange) -> None:
        self.conn.execute(
            insert(s.deployment_changes).values(
                deployment_id=deployment_id,
                revision=change.revision,
                action=change.action.value,
                who=change.who,
                at=change.at,
                reason=change.reason,
                state_before=_state_out(change.before),
                state_after=_state_out(change.after),
            )
        )

    def changes(self, deployment_id: str, name: str) -> list[DeploymentChange]:
        """Every change, oldest first."""
        c = s.deployment_changes.c
        q = select(s.deployment_changes).where(c.deployment_id == deployment_id)
        out = []
        for r in self.conn.execute(q.order_by(c.revision)):
            after = _state_in(r.state_after)
            assert after is not None
            out.append(
                DeploymentChange(
                    deployment=name,
                    revision=int(r.revision),
                    action=DeploymentAction(r.action),
                    who=r.who,
                    at=utc(r.at),
                    reason=r.reason,
                    before=_state_in(r.state_before),
                    after=after,
                )
            )
        return out

    # prediction-log segments ------------------------------------------------------------------
    def _segment(self, row: Row[Any], dep: Deployment) -> LogSegment:
        return LogSegment(
            id=row.id,
            deployment=dep.name,
            project=dep.project,
            uri=row.uri,
            digest=row.digest,
            records=int(row.records),
            first_at=utc(row.first_at),
            last_at=utc(row.last_at),
            server_id=row.server_id,
            registered_at=utc(row.registered_at),
        )

    def add_segment(self, dep: Deployment, seg: LogSegment, by: str) -> None:
        self.conn.execute(
            insert(s.log_segments).values(
                id=seg.id,
                deployment_id=dep.id,
                uri=seg.uri,
                digest=seg.digest,
                records=seg.records,
                first_at=seg.first_at,
                last_at=seg.last_at,
                server_id=seg.server_id,
                registered_by=by,
                registered_at=seg.registered_at,
            )
        )

    def segment(
        self, dep: Deployment, *, segment_id: str | None = None, uri: str | None = None
    ) -> LogSegment | None:
        g = s.log_segments.c
        q = select(s.log_segments).where(g.deployment_id == dep.id)
        q = q.where(g.id == segment_id) if segment_id is not None else q.where(g.uri == uri)
        row = self.conn.execute(q).first()
        return self._segment(row, dep) if row is not None else None

    def segments(
        self, dep: Deployment, since: datetime | None, until: datetime | None
    ) -> list[LogSegment]:
        """Segments holding records in [since, until], oldest first."""
        g = s.log_segments.c
        q = select(s.log_segments).where(g.deployment_id == dep.id)
        if since is not None:
            q = q.where(g.last_at >= since)
        if until is not None:
            q = q.where(g.first_at <= until)
        q = q.order_by(g.first_at, g.id)
        return [self._segment(r, dep) for r in self.conn.execute(q)]

    # feedback -----------------------------------------------------------------------------
    def _feedback(self, row: Row[Any], dep: Deployment) -> Feedback:
        return Feedback(
            prediction_id=row.prediction_id,
            deployment=dep.name,
            project=dep.project,
            label=row.label,
            outcome=float(row.outcome) if row.outcome is not None else None,
            comment=row.comment,
            who=row.who,
            at=utc(row.at),
        )

    def feedback(self, dep: Deployment, prediction_id: str) -> Feedback | None:
        f = s.feedback.c
        row = self.conn.execute(
            select(s.feedback).where(f.deployment_id == dep.id, f.prediction_id == prediction_id)
        ).first()
        return self._feedback(row, dep) if row is not None else None

    def put_feedback(self, dep: Deployment, fb: Feedback, replace: bool) -> None:
        values = {
            "label": fb.label,
            "outcome": fb.outcome,
            "comment": fb.comment,
            "who": fb.who,
            "at": fb.at,
        }
        if replace:
            f = s.feedback.c
            self.conn.execute(
                update(s.feedback)
                .where(f.deployment_id == dep.id, f.prediction_id == fb.prediction_id)
                .values(**values)
            )
        else:
            self.conn.execute(
                insert(s.feedback).values(
                    deployment_id=dep.id, prediction_id=fb.prediction_id, **values
                )
            )

    def put_feedback_many(
        self, dep: Deployment, fbs: Sequence[Feedback], replace: Collection[str]
    ) -> None:
        """Insert the new ones in one statement, update those in `replace` (which exist)."""
        f = s.feedback.c
        rows = [
            {
                "deployment_id": dep.id,
                "prediction_id": fb.prediction_id,
                "label": fb.label,
                "outcome": fb.outcome,
                "comment": fb.comment,
                "who": fb.who,
                "at": fb.at,
            }
            for fb in fbs
        ]
        new = [r for r in rows if r["prediction_id"] not in replace]
        if new:
            self.conn.execute(insert(s.feedback), new)
        for r in rows:
            if r["prediction_id"] in replace:
                self.conn.execute(
                    update(s.feedback)
                    .where(f.deployment_id == dep.id, f.prediction_id == r["prediction_id"])
                    .values(
                        label=r["label"],
                        outcome=r["outcome"],
                        comment=r["comment"],
                        who=r["who"],
                        at=r["at"],
                    )
                )

    def list_feedback(
        self,
        dep: Deployment,
        prediction_ids: Sequence[str] | None,
        since: datetime | None,
        limit: int,
    ) -> list[Feedback]:
        """Oldest first: by ids (each id's row, if any); else the first `limit` at or after
        `since`, or without `since` the newest `limit`."""
        f = s.feedback.c
        base = select(s.feedback).where(f.deployment_id == dep.id)
        if since is not None:
            base = base.where(f.at >= since)
        if prediction_ids is not None:
            rows: list[Row[Any]] = []
            ids = list(prediction_ids)
            for i in range(0, len(ids), 500):
                q = base.where(f.prediction_id.in_(ids[i : i + 500]))
                rows.extend(self.conn.execute(q))
            rows.sort(key=lambda r: (utc(r.at), r.prediction_id))
            return [self._feedback(r, dep) for r in rows[:limit]]
        if since is not None:
            q = base.order_by(f.at, f.prediction_id).limit(limit)
            return [self._feedback(r, dep) for r in self.conn.execute(q)]
        q = base.order_by(f.at.desc(), f.prediction_id.desc()).limit(limit)
        return [self._feedback(r, dep) for r in reversed(list(self.conn.execute(q)))]
