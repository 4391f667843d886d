"""`relay pipelines ...` and `relay scheduler` through the real CLI in a subprocess."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.cli.conftest import Relay

CODE = """
import relayml as relay

@relay.step
def numbers(n: int) -> list[int]:
    print(f"made {n} numbers")
    return list(range(n))

@relay.step
def total(xs: list[int]) -> int:
    return sum(xs)

@relay.step
def check(t: int) -> int:
    if t > 100:
        raise ValueError(f"total {t} is too large")
    return t

@relay.pipeline(schedule="0 3 * * *")
def nightly(n: int = 4):
    check(total(numbers(n)))
"""


def test_pipeline_commands(tmp_path: Path) -> None:
    (tmp_path / "etl.py").write_text(textwrap.dedent(CODE))
    relay = Relay(tmp_path / ".relay")

    ran = relay("pipelines", "run", "etl.py:nightly", "--param", "n=5")
    assert ran.code == 0, ran.err
    assert "nightly run" in ran.out and "finished" in ran.out
    assert "numbers" in ran.out and "check" in ran.out

    listed = relay("pipelines", "ls", "--json").json()
    assert [(p["name"], p["schedule"], len(p["steps"])) for p in listed] == [
        ("nightly", "0 3 * * *", 3)
    ]
    assert listed[0]["module"] == f"{tmp_path / 'etl.py'}:nightly"

    cached = relay("pipelines", "run", "etl.py:nightly", "--param", "n=5", "--json").json()
    assert [s["status"] for s in cached["steps"]] == ["cached"] * 3

    failed = relay("pipelines", "run", "etl.py:nightly", "--param", "n=50")
    assert failed.code == 10
    assert "ValueError: total 1225 is too large" in failed.err  # the user's traceback
    assert 'etl.py", line 16, in check' in failed.err
    assert "error: pipeline 'nightly' run" in failed.err

    runs = relay("pipelines", "runs", "nightly", "--json").json()
    assert [r["status"] for r in runs] == ["failed", "finished", "finished"]
    first = runs[-1]["id"]

    shown = relay("pipelines", "show", first)
    assert shown.code == 0, shown.err
    for text in ("numbers", "total", "check", "finished", first):
        assert text in shown.out
    logs = relay("pipelines", "show", first, "--logs", "numbers")
    assert logs.out == "made 5 numbers\n"
    bad = relay("pipelines", "show", runs[0]["id"])
    assert "step check failed" in bad.out and "too large" in bad.out

    assert relay("pipelines", "run", "etl.py:nope").code == 2
    assert relay("pipelines", "run", "etl.py:nightly", "--param", "x").code == 2

    once = relay("scheduler", "--once")  # registered just now: no slot is due yet
    assert once.code == 0 and once.out == ""


def test_pause_resume_and_the_next_run(tmp_path: Path) -> None:
    (tmp_path / "etl.py").write_text(textwrap.dedent(CODE))
    relay = Relay(tmp_path / ".relay")
    assert relay("pipelines", "register", "etl.py:nightly").code == 0

    listed = relay("pipelines", "ls")
    assert listed.code == 0, listed.err
    assert "next run" in listed.out and " 03:00 UTC" in listed.out
    (info,) = relay("pipelines", "ls", "--json").json()
    assert info["next_run"].endswith("T03:00:00+00:00") and info["paused"] is None

    paused = relay("pipelines", "pause", "nightly", "--reason", "source down until Monday")
    assert paused.code == 0, paused.err
    assert "paused nightly: source down until Monday" in paused.out
    listed = relay("pipelines", "ls")
    assert (
        "paused by admin: source down until Monday" in listed.out and "03:00 UTC" not in listed.out
    )
    shown = relay("pipelines", "show", "nightly")
    assert shown.code == 0, shown.err
    assert "paused by admin: source down until Monday" in shown.out and "0 3 * * *" in shown.out
    as_json = relay("pipelines", "show", "nightly", "--json").json()
    assert as_json["paused"]["reason"] == "source down until Monday"
    assert as_json["next_run"] is None

    again = relay("pipelines", "pause", "nightly", "--reason", "twice")
    assert again.code != 0 and "paused already, by admin" in again.err
    assert relay("pipelines", "pause", "nightly", "--reason", " ").code == 2  # no reason
    missing = relay("pipelines", "pause", "nope", "--reason", "x")
    assert missing.code != 0 and "no pipeline 'nope'" in missing.err

    resumed = relay("pipelines", "resume", "nightly")
    assert resumed.code == 0, resumed.err
    assert "resumed nightly; next run" in resumed.out and "03:00 UTC" in resumed.out
    audit = relay("audit", "log", "--json", "--action", "schedule.pause")
    assert audit.code == 0 and "nightly" in audit.out


BACKFILLED = """
import relayml as relay

@relay.step
def day(slot: str) -> str:
    if slot.startswith("2026-11-02"):
        raise ValueError(f"no data for {slot}")
    return slot[:10]

@relay.pipeline(schedule="0 3 * * *")
def daily(slot: str = "by hand"):
    day(slot)
"""


def test_backfill_a_date_range(tmp_path: Path) -> None:
    (tmp_path / "etl.py").write_text(textwrap.dedent(BACKFILLED))
    relay = Relay(tmp_path / ".relay")
    assert relay("pipelines", "register", "etl.py:daily").code == 0

    first = relay("pipelines", "backfill", "daily", "--from", "2026-11-01", "--to", "2026-11-03")
    assert first.code == 10, first.err  # a backfilled run failed
    assert "backfilling daily: 3 slot(s) of '0 3 * * *'" in first.out
    for day in ("2026-11-01 03:00", "2026-11-02 03:00", "2026-11-03 03:00"):
        assert day in first.out
    assert "2 finished, 1 failed, 0 skipped" in first.out
    assert "1 of 3 backfilled runs of pipeline 'daily' failed" in first.err

    again = relay(
        "pipelines", "backfill", "daily", "--from", "2026-11-01", "--to", "2026-11-03", "--json"
    )
    assert again.code == 10
    done = again.json()
    assert [s["slot"][:10] for s in done["plan"]["skipped"]] == ["2026-11-01", "2026-11-03"]
    assert [(r["scheduled_for"], r["status"]) for r in done["runs"]] == [
        ("2026-11-02T03:00:00+00:00", "failed")
    ]
    shown = relay("pipelines", "backfill", "daily", "--from", "2026-11-01", "--to", "2026-11-01")
    assert shown.code == 0 and "skipped 2026-11-01 03:00" in shown.out
    rerun = relay(
        "pipelines", "backfill", "daily", "--from", "2026-11-01", "--to", "2026-11-01", "--rerun"
    )
    assert rerun.code == 0 and "1 finished, 0 failed, 0 skipped" in rerun.out
    runs = relay("pipelines", "runs", "daily", "--json").json()
    assert len(runs) == 5 and {r["trigger"] for r in runs} == {"backfill"}
    assert relay("pipelines", "ls", "--json").json()[0]["last_scheduled"] is None

    backwards = relay(
        "pipelines", "backfill", "daily", "--from", "2026-11-07", "--to", "2026-11-01"
    )
    assert backwards.code == 2 and "before it starts" in backwards.err
    garbled = relay("pipelines", "backfill", "daily", "--from", "11/01/2026", "--to", "2026-11-02")
    assert garbled.code == 2 and "is not a date" in garbled.err
    missing = relay("pipelines", "backfill", "nope", "--from", "2026-11-01", "--to", "2026-11-02")
    assert missing.code != 0 and "no pipeline 'nope'" in missing.err


WATCHER = """
import relayml as relay

@relay.step
def rows(dataset: str) -> int:
    return relay.datasets.get(dataset).record.rows

@relay.pipeline(on_publish="loans")
def retrain(dataset: str = "loans"):
    rows(dataset)
"""


def test_a_publication_starts_the_watching_pipeline(tmp_path: Path) -> None:
    (tmp_path / "watch.py").write_text(textwrap.dedent(WATCHER))
    (tmp_path / "v1.csv").write_text("id,amount\n1,10.5\n")
    (tmp_path / "v2.csv").write_text("id,amount\n1,10.5\n2,3.0\n")
    relay = Relay(tmp_path / ".relay")
    assert relay("datasets", "publish", "loans", "v1.csv").code == 0
    assert relay("pipelines", "register", "watch.py:retrain").code == 0
    listed = relay("pipelines", "ls")
    assert "on publish of loans" in listed.out
    assert "each new version of loans (after loans@1)" in relay("pipelines", "show", "retrain").out
    assert relay("scheduler", "--once").out == ""  # loans@1 was there before

    assert relay("datasets", "publish", "loans", "v2.csv").code == 0
    once = relay("scheduler", "--once")
    assert once.code == 0, once.err
    assert "default/retrain published loans@2: run" in once.out and "finished" in once.out
    (run,) = relay("pipelines", "runs", "retrain", "--json").json()
    assert (run["trigger"], run["dataset"], run["params"]) == (
        "dataset", "loans@2", {"dataset": "loans@2"}
    )  # fmt: skip
    shown = relay("pipelines", "show", run["id"], "--json").json()
    assert shown["steps"][0]["output"]["value"] == 2
    assert "dataset loans@2" in relay("pipelines", "runs", "retrain").out
    assert relay("scheduler", "--once").out == ""  # started once
