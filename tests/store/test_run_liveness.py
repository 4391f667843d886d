"""A running run reads as `lost` once its last heartbeat is older than the services' bound,
on SQLite and PostgreSQL: in a run, a page, a filter and an ordering on status (one SQL
expression, store/sql/search.py). Migration 0012 starts existing runs from their start time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import update

from relayml.client.local import LocalBackend
from relayml.domain.tracking import RunStatus
from relayml.sdk.session import connect
from relayml.store.sql import engine as eng
from relayml.store.sql import schema as s
from tests.conftest import settings_for


def _backend(home: Path, url: str) -> LocalBackend:
    backend = connect(settings=replace(settings_for(home, url), run_lost_after=60)).backend
    assert isinstance(backend, LocalBackend)
    return backend


def _silence(backend: LocalBackend, run_id: str, seconds: float) -> None:
    """The run's process last said it was alive `seconds` ago."""
    engine = backend.services.store.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        then = datetime.now(UTC) - timedelta(seconds=seconds)
        conn.execute(update(s.runs).where(s.runs.c.id == run_id).values(last_heartbeat=then))


def test_a_silent_running_run_reads_lost_until_it_writes_or_ends(
    store_url: str, tmp_path: Path
) -> None:
    b = _backend(tmp_path, store_url)
    b.identity.ensure_project("p")
    silent, quiet, done = (b.tracking.create_run(project="p", experiment="e") for _ in range(3))
    b.tracking.end_run(done.id, "finished")
    _silence(b, silent.id, 61)  # past the bound
    _silence(b, quiet.id, 30)  # not yet (half the bound: a loaded machine may take seconds here)
    _silence(b, done.id, 3600)  # ended runs are never lost

    def status_of(filter_: str | None = None, order: list[str] | None = None) -> list[str]:
        page = b.tracking.search_runs(project="p", filter=filter_, order_by=order)
        return [f"{r.id}:{r.status.value}" for r in page.runs]

    assert b.tracking.get_run(silent.id).status is RunStatus.LOST
    assert b.tracking.get_run(silent.id).last_heartbeat is not None
    assert b.tracking.get_run(quiet.id).status is RunStatus.RUNNING
    assert b.tracking.get_run(done.id).status is RunStatus.FINISHED
    assert status_of("status = 'lost'") == [f"{silent.id}:lost"]
    assert status_of("status = 'running'") == [f"{quiet.id}:running"]
    assert sorted(status_of("status IN ('lost', 'finished')")) == sorted(
        [f"{silent.id}:lost", f"{done.id}:finished"]
    )
    ordered = status_of(order=["status ASC"])
    assert [x.split(":")[1] for x in ordered] == ["finished", "lost", "running"]

    assert b.tracking.log_batch(silent.id) == 0  # a heartbeat: running again
    assert b.tracking.get_run(silent.id).status is RunStatus.RUNNING
    _silence(b, silent.id, 61)
    assert b.tracking.end_run(silent.id, "killed").status is RunStatus.KILLED
    assert b.tracking.log_batch(silent.id) == 0  # a late heartbeat does not reopen it
    assert b.tracking.get_run(silent.id).status is RunStatus.KILLED
    assert b.audit.verify().ok
    b.close()


def test_migration_0012_starts_existing_runs_from_their_start_time(
    store_url: str, tmp_path: Path
) -> None:
    engine = eng.make_engine(store_url)
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with engine.begin() as conn:
        command.upgrade(eng._alembic_config(conn), "0011")
        conn.execute(
            s.projects.insert().values(name="p", description="", created_at=started, created_by="a")
        )
        conn.execute(
            s.experiments.insert().values(
                id=1, project="p", name="e", created_at=started, created_by="a"
            )
        )
        conn.execute(  # without 0012's column: a run a killed process left running
            s.runs.insert().values(
                id="a" * 32, experiment_id=1, name="r", status="running", user="a",
                start_time=started,
            )
        )  # fmt: skip
    engine.dispose()
    b = _backend(tmp_path, store_url)  # migrates to head on first use
    run = b.tracking.get_run("a" * 32)
    assert run.last_heartbeat == started
    assert run.status is RunStatus.LOST
    b.close()
