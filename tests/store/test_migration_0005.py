"""Migration 0005: pipeline runs and steps stored as `succeeded` end `finished`, and back."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import select

from relayml.domain.pipelines import StepStatus, parse_step_status
from relayml.domain.tracking import RunStatus, parse_status
from relayml.store.sql import engine as eng
from relayml.store.sql import schema as s
from relayml.store.sql.store import SqlStore

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
BEFORE = "0004"


def _run(rid: str, status: str) -> dict[str, object]:
    return {
        "id": rid,
        "project": "p",
        "pipeline": "nightly",
        "trigger": "manual",
        "executor": "local",
        "params": {},
        "status": status,
        "user": "a",
        "started_at": NOW,
        "ended_at": NOW,
        "error": None,
        "scheduled_for": None,
    }


def _step(rid: str, name: str, status: str) -> dict[str, object]:
    return {
        "run_id": rid,
        "name": name,
        "position": 0,
        "upstream": [],
        "status": status,
        "attempts": 1,
        "cache_key": None,
        "cached": False,
        "output": None,
        "output_digest": None,
        "logs_digest": None,
        "error": None,
        "user_traceback": None,
        "started_at": NOW,
        "ended_at": NOW,
    }


def _statuses(url: str) -> tuple[dict[str, str], dict[str, str]]:
    engine = eng.make_engine(url)
    with engine.connect() as conn:
        runs = dict(conn.execute(select(s.pipeline_runs.c.id, s.pipeline_runs.c.status)).all())
        steps = dict(conn.execute(select(s.pipeline_steps.c.name, s.pipeline_steps.c.status)).all())
    engine.dispose()
    return runs, steps


def test_upgrade_and_downgrade_rewrite_success(store_url: str) -> None:
    engine = eng.make_engine(store_url)
    with engine.begin() as conn:
        command.upgrade(eng._alembic_config(conn), BEFORE)
        conn.execute(
            s.projects.insert(),
            [{"name": "p", "description": "", "created_at": NOW, "created_by": "a"}],
        )
        conn.execute(s.pipeline_runs.insert(), [_run("ok", "succeeded"), _run("bad", "failed")])
        conn.execute(
            s.pipeline_steps.insert(),
            [
                _step("ok", "load", "succeeded"),
                _step("bad", "clean", "failed"),
                _step("bad", "report", "skipped"),
            ],
        )
    engine.dispose()

    store = SqlStore(store_url)  # migrated to head on first use
    try:
        with store.read() as tx:
            ok = tx.pipelines.get_run("ok")
            assert ok is not None and ok.status is RunStatus.FINISHED
            assert ok.step("load").status is StepStatus.FINISHED
    finally:
        store.dispose()
    assert _statuses(store_url) == (
        {"ok": "finished", "bad": "failed"},
        {"load": "finished", "clean": "failed", "report": "skipped"},
    )

    engine = eng.make_engine(store_url)
    with engine.begin() as conn:
        command.downgrade(eng._alembic_config(conn), BEFORE)
    engine.dispose()
    assert _statuses(store_url) == (
        {"ok": "succeeded", "bad": "failed"},
        {"load": "succeeded", "clean": "failed", "report": "skipped"},
    )


def test_the_old_word_is_still_read_as_finished() -> None:
    assert parse_status("succeeded") is RunStatus.FINISHED
    assert parse_step_status("succeeded") is StepStatus.FINISHED
    # `lost` is read, never stored (a silent running run; migration 0012)
    assert [s.value for s in RunStatus] == ["running", "finished", "failed", "killed", "lost"]
