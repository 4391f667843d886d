"""The backend contract for pipelines: see BackendContract in contract.py."""

from __future__ import annotations

import hashlib
import textwrap
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from relayml.client.base import Backend
from relayml.domain.datasets import DatasetStatus, DatasetVersion
from relayml.domain.pipelines import (
    DatasetTrigger,
    PipelineRun,
    StepOutput,
    StepSpec,
    StepStatus,
    Trigger,
)
from relayml.domain.tracking import RunStatus
from relayml.errors import Conflict, InvalidInput, NotFound, PermissionDenied, UserCodeError
from relayml.testing.contract import ContractEnv

GRAPH = [StepSpec("load"), StepSpec("clean", ("load",)), StepSpec("report", ("clean",))]

PIPELINE_CODE = """
import relayml as relay

@relay.step
def numbers(n: int) -> list[int]:
    print("making", n)
    return list(range(n))

@relay.step(retries=1, backoff=0)
def total(xs: list[int]) -> int:
    return sum(xs)

@relay.step
def broken(xs: list[int]) -> int:
    raise ValueError("no good: " + str(len(xs)))

@relay.pipeline
def sums(n: int = 4):
    xs = numbers(n)
    total(xs)
    broken(xs)
"""


BACKFILLED = """
import relayml as relay

@relay.step
def day(slot: str) -> str:
    if slot.startswith("2026-11-02"):
        raise ValueError("no data for " + slot)
    return slot[:10]

@relay.pipeline(schedule="0 3 * * *")
def daily(slot: str = "by hand"):
    day(slot)
"""

NOV = [datetime(2026, 11, d, 3, tzinfo=UTC) for d in range(1, 8)]


POSITIVE = """\
columns:
  amount:
    type: float64
    min: 0
"""


def _parquet(folder: Path, amounts: list[float]) -> Path:
    import pyarrow as pa

    from relayml.tables.parquet import write_normalized

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "loans.parquet"
    write_normalized(pa.table({"id": list(range(len(amounts))), "amount": amounts}), path, None)
    return path


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class PipelineContract:
    def test_pipeline_registration_and_listing(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        info = b.pipelines.register(
            p, "nightly", module="etl.jobs:nightly", schedule="0 3 * * *", params={"n": 3},
            steps=GRAPH,
        )  # fmt: skip
        assert info.schedule == "0 3 * * *" and info.params == {"n": 3}
        assert [s.name for s in info.steps] == ["load", "clean", "report"]
        assert info.steps[1].upstream == ("load",)
        assert info.schedule_since is not None and info.last_scheduled is None
        b.pipelines.register(p, "adhoc", module="etl.jobs:adhoc", steps=GRAPH[:1])
        assert [x.name for x in b.pipelines.list_pipelines(p)] == ["adhoc", "nightly"]
        scheduled = [x for x in b.pipelines.list_pipelines(scheduled=True) if x.project == p]
        assert [x.name for x in scheduled] == ["nightly"]
        with pytest.raises(InvalidInput, match="cron"):
            b.pipelines.register(p, "bad", module="m:f", schedule="every day")
        with pytest.raises(InvalidInput, match="twice"):
            b.pipelines.register(p, "dup", module="m:f", steps=[StepSpec("a"), StepSpec("a")])

    def test_run_and_step_states_are_recorded(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        b.pipelines.register(p, "etl", module="m:etl", steps=GRAPH)
        run = b.pipelines.start_run(p, "etl", steps=GRAPH, params={"n": 3})
        assert run.status is RunStatus.RUNNING and run.trigger is Trigger.MANUAL
        assert [s.status for s in run.steps] == [StepStatus.PENDING] * 3
        b.pipelines.record_step(run.id, "load", status="running", attempts=1)
        value = StepOutput("value", _key("[1,2]"), [1, 2])
        done = b.pipelines.record_step(
            run.id, "load", status="finished", attempts=1, cache_key=_key("k1"), output=value
        )
        assert done.status is StepStatus.FINISHED and done.duration is not None
        b.pipelines.record_step(
            run.id, "clean", status="failed", attempts=2, error="ValueError: x",
            user_traceback='File "etl.py", line 3, in clean\nValueError: x',
        )  # fmt: skip
        b.pipelines.record_step(run.id, "report", status="skipped", error="upstream clean failed")
        with pytest.raises(Conflict):
            b.pipelines.record_step(run.id, "load", status="running", attempts=2)
        unfinished = b.pipelines.start_run(p, "etl", steps=GRAPH)
        with pytest.raises(Conflict, match="cannot finish"):
            b.pipelines.finish_run(unfinished.id, "finished")
        ended = b.pipelines.finish_run(run.id, "failed", "clean: ValueError: x")
        assert ended.status is RunStatus.FAILED and ended.ended_at is not None
        got = b.pipelines.get_run(run.id)
        assert got.step("load").output == value
        assert got.step("clean").attempts == 2
        assert "line 3, in clean" in (got.step("clean").user_traceback or "")
        assert got.step("report").status is StepStatus.SKIPPED
        assert [s.name for s in got.failed_steps] == ["clean"]
        listed = b.pipelines.list_runs(p, "etl")
        assert run.id in [r.id for r in listed] and listed[0].started_at >= listed[-1].started_at
        with pytest.raises(Conflict):
            b.pipelines.finish_run(run.id, "finished")
        with pytest.raises(NotFound):
            b.pipelines.get_run(uuid.uuid4().hex)
        with pytest.raises(NotFound):
            b.pipelines.start_run(p, "unregistered", steps=GRAPH)

    def test_cache_lookup_and_blobs(self, contract: ContractEnv, tmp_path: Path) -> None:
        b = contract.admin
        p = contract.new_project()
        b.pipelines.register(p, "etl", module="m:etl", steps=GRAPH[:1])
        run = b.pipelines.start_run(p, "etl", steps=GRAPH[:1])
        src = tmp_path / "table.parquet"
        src.write_bytes(b"PAR1 not really parquet PAR1")
        digest, size = b.pipelines.put_blob(run.id, src)
        assert digest == hashlib.sha256(src.read_bytes()).hexdigest() and size == src.stat().st_size
        out = StepOutput("table", digest, format="arrow", size=size)
        key = _key("cache-key")
        assert b.pipelines.find_cached(p, key) is None
        b.pipelines.record_step(
            run.id, "load", status="finished", attempts=1, cache_key=key, output=out
        )
        b.pipelines.finish_run(run.id, "finished")
        assert b.pipelines.find_cached(p, key) == out
        assert b.pipelines.find_cached(contract.new_project(), key) is None  # per project
        dest = b.pipelines.download_blob(run.id, digest, tmp_path / "copy" / "t.parquet")
        assert dest.read_bytes() == src.read_bytes()
        with pytest.raises(NotFound):  # a blob no step of this project refers to
            b.pipelines.download_blob(run.id, _key("unrelated"), tmp_path / "x")
        with pytest.raises(Conflict):  # the run has ended
            b.pipelines.put_blob(run.id, src)

    def test_schedule_slots_run_once(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        b.pipelines.register(p, "daily", module="m:d", schedule="0 3 * * *", steps=GRAPH[:1])
        slot = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        run = b.pipelines.start_run(
            p, "daily", steps=GRAPH[:1], trigger="schedule", scheduled_for=slot
        )
        assert run.trigger is Trigger.SCHEDULE and run.scheduled_for == slot
        with pytest.raises(Conflict, match="already started"):
            b.pipelines.start_run(
                p, "daily", steps=GRAPH[:1], trigger="schedule", scheduled_for=slot
            )
        (info,) = b.pipelines.list_pipelines(p)
        assert info.last_scheduled == slot

    def test_next_run_pause_and_resume(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        before = datetime.now(UTC)
        info = b.pipelines.register(p, "daily", module="m:d", schedule="0 3 * * *", steps=GRAPH)
        assert info.next_run is not None and info.paused is None
        assert (info.next_run.hour, info.next_run.minute) == (3, 0)
        assert before < info.next_run <= before + timedelta(days=1)  # the first slot after now
        assert b.pipelines.get_pipeline(p, "daily").next_run == info.next_run
        b.pipelines.register(p, "adhoc", module="m:a", steps=GRAPH)
        assert b.pipelines.get_pipeline(p, "adhoc").next_run is None

        engineer = contract.as_role(p, "data_engineer")
        paused = engineer.pipelines.pause(p, "daily", "  source down until Monday ")
        assert paused.paused is not None and paused.next_run is None
        assert paused.paused.reason == "source down until Monday"
        assert paused.paused.by != "" and paused.paused.at >= before
        (listed,) = [x for x in b.pipelines.list_pipelines(p) if x.name == "daily"]
        assert listed.paused == paused.paused and listed.next_run is None
        slot = before.replace(hour=3, minute=0, second=0, microsecond=0) + timedelta(days=1)
        with pytest.raises(Conflict, match="paused by"):  # a scheduler cannot claim its slots
            b.pipelines.start_run(p, "daily", steps=GRAPH, trigger="schedule", scheduled_for=slot)
        with pytest.raises(Conflict, match="paused already"):
            b.pipelines.pause(p, "daily", "again")
        kept = b.pipelines.register(p, "daily", module="m:d", schedule="0 4 * * *", steps=GRAPH)
        assert kept.paused == paused.paused  # a new cron in the code does not undo the pause

        for bad in ("", "   ", "\ud800 lone surrogate", "x" * 2001, "nul\x00"):
            with pytest.raises(InvalidInput):
                b.pipelines.pause(p, "adhoc", bad)
        with pytest.raises(Conflict, match="no schedule"):
            b.pipelines.pause(p, "adhoc", "why not")
        with pytest.raises(NotFound):
            b.pipelines.pause(p, "missing", "gone")
        with pytest.raises(InvalidInput):
            b.pipelines.get_pipeline(p, "bad name!")
        scientist = contract.as_role(p, "data_scientist")
        assert scientist.pipelines.get_pipeline(p, "daily").paused is not None
        with pytest.raises(PermissionDenied):
            scientist.pipelines.resume(p, "daily")

        resumed = engineer.pipelines.resume(p, "daily")
        assert resumed.paused is None and resumed.schedule == "0 4 * * *"
        assert resumed.schedule_since is not None and resumed.schedule_since >= paused.paused.at
        assert resumed.next_run is not None and resumed.next_run > resumed.schedule_since
        assert (resumed.next_run.hour, resumed.next_run.minute) == (4, 0)
        with pytest.raises(Conflict, match="not paused"):
            engineer.pipelines.resume(p, "daily")
        run = b.pipelines.start_run(
            p, "daily", steps=GRAPH, trigger="schedule", scheduled_for=resumed.next_run
        )
        assert run.scheduled_for == resumed.next_run
        events = b.audit.log(project=p, entity_kind="pipeline", entity_id="daily")
        actions = [e.action for e in events]
        assert "schedule.pause" in actions and "schedule.resume" in actions

    def test_backfill_plans_the_slots_no_run_finished(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        before = b.pipelines.register(
            p, "daily", module="m:d", schedule="0 3 * * *", steps=GRAPH[:1]
        )
        plan = b.pipelines.backfill_plan(p, "daily", "2026-11-01", "2026-11-07")  # days included
        assert plan.slots == NOV and plan.skipped == [] and plan.cron == "0 3 * * *"
        assert (plan.pipeline, plan.until) == ("daily", plan.end)

        done = b.pipelines.start_run(
            p, "daily", steps=GRAPH[:1], trigger="backfill", scheduled_for=NOV[1]
        )
        assert done.trigger is Trigger.BACKFILL and done.scheduled_for == NOV[1]
        b.pipelines.record_step(done.id, "load", status="finished", attempts=1)
        b.pipelines.finish_run(done.id, "finished")
        failed = b.pipelines.start_run(
            p, "daily", steps=GRAPH[:1], trigger="backfill", scheduled_for=NOV[2]
        )
        b.pipelines.finish_run(failed.id, "failed", "load: no data")
        again = b.pipelines.backfill_plan(p, "daily", NOV[0], NOV[-1])
        assert again.skipped == [(NOV[1], done.id)]
        assert again.slots == [NOV[0], *NOV[2:]]  # the failed slot is planned again
        rerun = b.pipelines.backfill_plan(p, "daily", NOV[0], NOV[-1], rerun=True)
        assert rerun.slots == NOV and rerun.skipped == []
        after = b.pipelines.get_pipeline(p, "daily")  # the schedule's claims are untouched
        assert (after.last_scheduled, after.schedule_since) == (None, before.schedule_since)

        hourly = b.pipelines.backfill_plan(
            p, "daily", "2026-11-01T00:00", "2026-11-01T07:30+02:00", every="0 * * * *"
        )
        assert hourly.cron == "0 * * * *" and len(hourly.slots) == 6  # 00:00 .. 05:00 UTC
        now = datetime.now(UTC)
        recent = b.pipelines.backfill_plan(
            p, "daily", now - timedelta(days=2), now + timedelta(days=9)
        )
        assert recent.until <= datetime.now(UTC) and recent.end > recent.until
        assert 1 <= len(recent.slots) <= 3 and all(s <= recent.until for s in recent.slots)

        b.pipelines.register(p, "adhoc", module="m:a", steps=GRAPH[:1])
        with pytest.raises(InvalidInput, match="--every"):
            b.pipelines.backfill_plan(p, "adhoc", "2026-11-01", "2026-11-02")
        adhoc = b.pipelines.backfill_plan(p, "adhoc", "2026-11-01", "2026-11-02", every="0 3 * * *")
        assert adhoc.slots == NOV[:2]
        with pytest.raises(InvalidInput, match="before it starts"):
            b.pipelines.backfill_plan(p, "daily", "2026-11-07", "2026-11-01")
        with pytest.raises(InvalidInput, match="1,000"):
            b.pipelines.backfill_plan(p, "daily", "2026-01-01", "2026-11-01", every="* * * * *")
        with pytest.raises(InvalidInput, match="after now"):
            b.pipelines.backfill_plan(p, "daily", now + timedelta(days=1), now + timedelta(days=2))
        for bad in ("2026-13-01", "last week", str(2**63), "\ud800", "0001-01-01"):
            with pytest.raises(InvalidInput):
                b.pipelines.backfill_plan(p, "daily", bad, "2026-11-07")
        with pytest.raises(InvalidInput, match="cron"):
            b.pipelines.backfill_plan(p, "daily", "2026-11-01", "2026-11-02", every="daily")
        with pytest.raises(NotFound):
            b.pipelines.backfill_plan(p, "missing", "2026-11-01", "2026-11-02")
        with pytest.raises(InvalidInput, match="scheduled_for"):
            b.pipelines.start_run(p, "daily", steps=GRAPH[:1], trigger="backfill")
        with pytest.raises(PermissionDenied):
            scientist = contract.as_role(p, "data_scientist")
            scientist.pipelines.backfill_plan(p, "daily", "2026-11-01", "2026-11-02")

    def test_backfill_runs_each_slot_with_its_slot(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        from relayml.pipelines.backfills import backfill

        b = contract.admin
        p = contract.new_project()
        module = tmp_path / f"daily_{uuid.uuid4().hex[:6]}.py"
        module.write_text(textwrap.dedent(BACKFILLED))
        done = backfill(b, f"{module}:daily", "2026-11-01", "2026-11-03", project=p)
        assert [r.scheduled_for for r in done.runs] == NOV[:3]  # oldest first
        assert {r.trigger for r in done.runs} == {Trigger.BACKFILL}
        ok, bad = RunStatus.FINISHED, RunStatus.FAILED
        assert [r.status for r in done.runs] == [ok, bad, ok]
        assert done.runs[0].params["slot"] == "2026-11-01T03:00:00+00:00"
        assert done.runs[0].step("day").output == StepOutput(
            "value", _key('"2026-11-01"'), "2026-11-01"
        )
        with pytest.raises(UserCodeError, match=r"1 of 3 .*2026-11-02T03:00"):
            done.raise_for_status()
        again = backfill(b, "daily", "2026-11-01", "2026-11-03", project=p)  # by its name
        assert again.plan.skipped == [(NOV[0], done.runs[0].id), (NOV[2], done.runs[2].id)]
        assert [(r.scheduled_for, r.status) for r in again.runs] == [(NOV[1], RunStatus.FAILED)]
        (info,) = b.pipelines.list_pipelines(p)
        assert info.last_scheduled is None  # the live schedule claimed nothing

    def test_a_published_version_starts_a_watching_pipeline_once(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        b = contract.admin
        p = contract.new_project()

        def publish(amount: float, contract_text: str | None = None) -> DatasetVersion:
            path = _parquet(tmp_path / uuid.uuid4().hex, [amount])
            return b.datasets.publish(p, "loans", path, contract=contract_text)

        def start(ref: str | None, trigger: str = "dataset") -> PipelineRun:
            return b.pipelines.start_run(
                p, "retrain", steps=GRAPH[:1], trigger=trigger, dataset=ref
            )

        publish(1.0)  # loans@1 exists before the trigger: it never starts the pipeline
        info = b.pipelines.register(
            p, "retrain", module="m:r", steps=GRAPH[:1], on_publish=["loans", "rates", "loans"]
        )
        assert info.on_publish == [DatasetTrigger("loans", 1), DatasetTrigger("rates", 0)]
        assert info.next_run is None and b.pipelines.due_triggers(p) == []
        publish(2.0)
        assert publish(-1.0, POSITIVE).status is DatasetStatus.QUARANTINED  # loans@3
        publish(4.0)
        assert [t.ref for t in b.pipelines.due_triggers(p)] == ["loans@2", "loans@4"]

        run = start("loans@2")
        assert (run.trigger, run.dataset) == (Trigger.DATASET, "loans@2")
        with pytest.raises(Conflict, match="already started"):
            start("loans@2")
        with pytest.raises(Conflict, match="quarantined"):
            start("loans@3")
        b.datasets.release(p, "loans@3", "checked by hand")  # released before loans@4 ran
        assert [t.ref for t in b.pipelines.due_triggers(p)] == ["loans@3", "loans@4"]
        start("loans@4")
        with pytest.raises(Conflict, match="or a later version"):
            start("loans@3")  # passed over: the pipeline does not go back to older data
        assert b.pipelines.due_triggers(p) == []
        publish(5.0)
        b.datasets.deprecate(p, "loans@5", "wrong currency")
        assert b.pipelines.due_triggers(p) == []
        with pytest.raises(Conflict, match="deprecated"):
            start("loans@5")
        (watch,) = [
            t for t in b.pipelines.get_pipeline(p, "retrain").on_publish if t.dataset == "loans"
        ]
        assert watch.last_version == 4

        for bad in ("loans", "loans@latest", "bad name!@2", None):
            with pytest.raises(InvalidInput):
                start(bad)
        with pytest.raises(InvalidInput):
            start("loans@4", trigger="manual")
        with pytest.raises(InvalidInput, match="does not watch"):
            start("other@1")
        with pytest.raises(NotFound):
            start("rates@1")
        for on_publish in (["loans@2"], ["bad name!"], [f"d{i}" for i in range(21)]):
            with pytest.raises(InvalidInput):
                b.pipelines.register(
                    p, "retrain", module="m:r", steps=GRAPH[:1], on_publish=on_publish
                )

        # pausing covers publications; resuming skips what was published meanwhile
        assert b.pipelines.pause(p, "retrain", "rates are being rebuilt").paused is not None
        publish(6.0)
        assert b.pipelines.due_triggers(p) == []
        with pytest.raises(Conflict, match="paused"):
            start("loans@6")
        resumed = b.pipelines.resume(p, "retrain")
        assert DatasetTrigger("loans", 6) in resumed.on_publish
        assert b.pipelines.due_triggers(p) == []
        publish(7.0)
        assert [t.ref for t in b.pipelines.due_triggers() if t.project == p] == ["loans@7"]

        scientist = contract.as_role(p, "data_scientist")
        with pytest.raises(PermissionDenied):
            scientist.pipelines.due_triggers(p)
        assert [t for t in scientist.pipelines.due_triggers() if t.project == p] == []
        unwatched = b.pipelines.register(p, "retrain", module="m:r", steps=GRAPH[:1])
        assert unwatched.on_publish == [] and b.pipelines.due_triggers(p) == []
        with pytest.raises(InvalidInput, match="does not watch"):
            start("loans@7")
        runs = b.pipelines.list_runs(p, "retrain")
        assert sorted(r.dataset or "" for r in runs) == ["loans@2", "loans@4"]

    def test_racing_schedulers_start_each_version_once(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        b = contract.admin
        p = contract.new_project()
        b.pipelines.register(p, "retrain", module="m:r", steps=GRAPH[:1], on_publish=["loans"])
        for amount in (1.0, 2.0, 3.0, 4.0):
            b.datasets.publish(p, "loans", _parquet(tmp_path / uuid.uuid4().hex, [amount]))
        schedulers = [contract.as_role(p, "data_engineer") for _ in range(4)]
        ready = threading.Barrier(len(schedulers))

        def tick(backend: Backend) -> list[str]:
            due = backend.pipelines.due_triggers(p)
            ready.wait(timeout=60)  # every scheduler saw every version before any starts one
            started: list[str] = []
            for trigger in due:
                try:
                    run = backend.pipelines.start_run(
                        p, "retrain", steps=GRAPH[:1], trigger="dataset", dataset=trigger.ref
                    )
                except Conflict:
                    continue
                started.append(run.dataset or "")
            return started

        with ThreadPoolExecutor(len(schedulers)) as pool:
            started = [ref for refs in pool.map(tick, schedulers) for ref in refs]
        assert sorted(started) == ["loans@1", "loans@2", "loans@3", "loans@4"]
        runs = b.pipelines.list_runs(p, "retrain")
        assert sorted(r.dataset or "" for r in runs) == sorted(started)

    def test_pipeline_permissions(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        contract.admin.pipelines.register(p, "etl", module="m:etl", steps=GRAPH[:1])
        scientist = contract.as_role(p, "data_scientist")
        assert [x.name for x in scientist.pipelines.list_pipelines(p)] == ["etl"]
        with pytest.raises(PermissionDenied):
            scientist.pipelines.start_run(p, "etl", steps=GRAPH[:1])
        with pytest.raises(PermissionDenied):
            scientist.pipelines.register(p, "mine", module="m:x", steps=GRAPH[:1])
        engineer = contract.as_role(p, "data_engineer")
        run = engineer.pipelines.start_run(p, "etl", steps=GRAPH[:1])
        engineer.pipelines.record_step(run.id, "load", status="finished", attempts=1)
        with pytest.raises(PermissionDenied):
            scientist.pipelines.record_step(run.id, "load", status="failed")
        assert scientist.pipelines.get_run(run.id).step("load").status is StepStatus.FINISHED
        outsider = contract.as_role(contract.new_project(), "data_engineer")
        with pytest.raises(PermissionDenied):
            outsider.pipelines.get_run(run.id)
        events = contract.admin.audit.log(project=p, entity_kind="pipeline_run")
        assert {"pipeline.run", "pipeline.step"} <= {e.action for e in events}

    def test_running_a_pipeline_records_everything(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        """The runner end to end on this backend: steps run here, state goes to the backend."""
        from relayml.pipelines.runner import run_pipeline

        b = contract.admin
        p = contract.new_project()
        module = tmp_path / f"sums_{uuid.uuid4().hex[:6]}.py"
        module.write_text(textwrap.dedent(PIPELINE_CODE))
        ref = f"{module}:sums"
        first = run_pipeline(b, ref, project=p, params={"n": 5}, max_workers=3)
        assert first.status is RunStatus.FAILED
        states = {s.name: s.status for s in first.steps}
        assert states == {
            "numbers": StepStatus.FINISHED,
            "total": StepStatus.FINISHED,
            "broken": StepStatus.FAILED,
        }
        assert first.step("total").output == StepOutput("value", _key("10"), 10)
        assert "ValueError: no good: 5" in (first.step("broken").user_traceback or "")
        assert first.step("numbers").logs_digest is not None
        log = b.pipelines.download_blob(
            first.id, first.step("numbers").logs_digest or "", tmp_path / "l"
        )
        assert log.read_text() == "making 5\n"
        second = run_pipeline(b, ref, project=p, params={"n": 5})
        assert second.step("numbers").status is StepStatus.CACHED
        assert second.step("total").status is StepStatus.CACHED
        assert second.step("broken").status is StepStatus.FAILED  # failures are never cached
