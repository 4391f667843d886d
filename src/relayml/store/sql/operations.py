"""The gauges `GET /api/v1/metrics` reports: counts of the work the store holds, grouped by
project and state, each one statement (docs/operations.md says what each costs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from relayml.domain.operations import Gauge
from relayml.store.sql import schema as s
from relayml.store.sql._util import utc


class SqlOperations:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _grouped(self, name: str, help_: str, columns: list[Any], where: Any = None) -> Gauge:
        query = select(*columns, func.count()).group_by(*columns)
        if where is not None:
            query = query.where(where)
        rows = self.conn.execute(query).all()
        labels = tuple(c.name for c in columns)
        values = tuple(
            (tuple(str(v) for v in row[:-1]), float(row[-1]))
            for row in sorted(rows, key=lambda r: tuple(str(v) for v in r[:-1]))
        )
        return Gauge(name, help_, labels, values)

    def gauges(self, now: datetime) -> list[Gauge]:
        a, m = s.alerts.c, s.monitors.c
        r, lr = s.promotion_requests.c, s.loop_runs.c
        pr, wd = s.pipeline_runs.c, s.webhook_deliveries.c
        dv, d, u = s.dataset_versions.c, s.datasets.c, s.ui_sessions.c
        out = [
            self._grouped(
                "relay_alerts_open",
                "Alerts not resolved, by project, severity and state (open or acknowledged)",
                [a.project, a.severity, a.state],
                a.state != "resolved",
            ),
            self._grouped(
                "relay_monitors", "Monitors by project and status", [m.project, m.status]
            ),
            self._grouped(
                "relay_promotion_requests_pending",
                "Promotion requests awaiting review (open) or a loop's canary (approved)",
                [r.project, r.state],
                r.state.in_(("open", "approved")),
            ),
            self._grouped(
                "relay_loop_runs_active",
                "Loop runs under way (alert -> retrain -> canary), by project and state",
                [lr.project, lr.state],
                lr.ended_at.is_(None),
            ),
            self._grouped(
                "relay_pipeline_runs_active",
                "Pipeline runs not ended, by project and status",
                [pr.project, pr.status],
                pr.status.in_(("pending", "running")),
            ),
            self._grouped(
                "relay_webhook_deliveries",
                "Webhook deliveries by status (pending ones wait for the dispatcher)",
                [wd.status],
            ),
        ]
        quarantined = self.conn.execute(
            select(d.project, func.count())
            .select_from(s.dataset_versions.join(s.datasets, dv.dataset_id == d.id))
            .where(dv.status == "quarantined")
            .group_by(d.project)
        ).all()
        out.append(
            Gauge(
                "relay_dataset_versions_quarantined",
                "Dataset versions quarantined by their contract, waiting for a data engineer",
                ("project",),
                tuple(((str(p),), float(n)) for p, n in sorted(quarantined)),
            )
        )
        ages = self.conn.execute(
            select(m.project, m.name, func.coalesce(m.processed_at, m.created_at)).where(
                m.status == "active"
            )
        ).all()
        out.append(
            Gauge(
                "relay_monitor_last_pass_age_seconds",
                "Seconds since each active monitor was last processed (since its creation "
                "if never): a runner that stopped shows here",
                ("project", "monitor"),
                tuple(
                    ((str(p), str(n)), max(0.0, (now - utc(t)).total_seconds()))
                    for p, n, t in sorted(ages)
                ),
            )
        )
        sessions = self.conn.execute(
            select(func.count()).where(u.ended_at.is_(None), u.expires_at > now)
        ).scalar_one()
        out.append(
            Gauge(
                "relay_ui_sessions_active",
                "Web UI sessions signed in",
                (),
                (((), float(sessions)),),
            )
        )
        head = self.conn.execute(select(s.audit_head.c.seq)).scalar()
        out.append(
            Gauge(
                "relay_audit_events",
                "Events in the audit chain (its head's sequence number)",
                (),
                (((), float(head or 0)),),
            )
        )
        return out
