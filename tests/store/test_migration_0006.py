"""Migration 0006 moves pipeline schedule claims into schedule_claims, and back on downgrade."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import JSON, column, table, text

from relayml.domain.scheduling import ScheduleKey, ScheduleKind, ScheduleState
from relayml.store.sql import engine as eng
from relayml.store.sql import schema as s
from relayml.store.sql.store import SqlStore

SINCE = datetime(2026, 11, 1, 9, 15, tzinfo=UTC)
SLOT = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)

# The 0005 pipelines table, typed as it was written (SQLite keeps timestamps as text).
_PIPELINES = table(
    "pipelines",
    *(column(c) for c in ("project", "name", "module", "schedule", "created_by")),
    *(column(c, JSON) for c in ("params", "steps")),
    *(column(c, s.TS) for c in ("created_at", "updated_at", "schedule_since", "last_scheduled")),
)


def test_claims_move_to_schedule_claims_and_back(store_url: str) -> None:
    engine = eng.make_engine(store_url)
    with engine.begin() as conn:
        command.upgrade(eng._alembic_config(conn), "0005")
        conn.execute(
            s.projects.insert(),
            [{"name": "p", "description": "", "created_at": SINCE, "created_by": "a"}],
        )
        rows: list[tuple[str, str | None, datetime | None, datetime | None]] = [
            ("daily", "0 3 * * *", SINCE, SLOT),
            ("fresh", "0 4 * * *", SINCE, None),
        ]
        rows.append(("manual", None, None, None))
        conn.execute(
            _PIPELINES.insert(),
            [
                {"project": "p", "name": name, "module": "m:f", "schedule": cron,
                 "created_by": "a", "params": {}, "steps": [], "created_at": SINCE,
                 "updated_at": SINCE, "schedule_since": since, "last_scheduled": last}
                for name, cron, since, last in rows
            ],
        )  # fmt: skip
    engine.dispose()

    store = SqlStore(store_url)  # upgraded to head on first use
    try:
        with store.read() as tx:
            daily = tx.pipelines.get_pipeline("p", "daily")
            assert daily is not None
            assert (daily.schedule_since, daily.last_scheduled) == (SINCE, SLOT)
            fresh = tx.schedules.state(ScheduleKey(ScheduleKind.PIPELINE, "p", "fresh"))
            assert fresh == ScheduleState(SINCE, None)
            assert tx.schedules.state(ScheduleKey(ScheduleKind.PIPELINE, "p", "manual")) is None
        with store.write() as tx:  # the migrated claim still guards its slot
            key = ScheduleKey(ScheduleKind.PIPELINE, "p", "daily")
            assert not tx.schedules.claim(key, SLOT, "b", SLOT)
        with store.engine.begin() as conn:
            command.downgrade(eng._alembic_config(conn), "0005")
        with store.engine.connect() as conn:
            back = conn.execute(
                text("SELECT name, schedule_since, last_scheduled FROM pipelines ORDER BY name")
            ).all()
            tables = set(store.engine.dialect.get_table_names(conn))
        assert [(r[0], r[2] is not None) for r in back] == [
            ("daily", True),
            ("fresh", False),
            ("manual", False),
        ]
        assert back[0][1] is not None and back[2][1] is None
        assert "schedule_claims" not in tables
    finally:
        store.dispose()
