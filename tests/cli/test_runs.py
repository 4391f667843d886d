"""Experiments, runs and artifacts through the CLI, in tables and as JSON."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Seeded, one_error_line


def test_experiments_ls(seeded: Seeded) -> None:
    data = seeded.relay("experiments", "ls", "--json").json()
    assert [(e["name"], e["run_count"]) for e in data] == [("exp", 2)]
    assert "exp" in seeded.relay("experiments", "ls").out


def test_runs_ls_filter_and_order(seeded: Seeded) -> None:
    relay = seeded.relay
    ordered = relay("runs", "ls", "--order-by", "metrics.acc DESC", "--json").json()
    assert [r["id"] for r in ordered] == [seeded.run_a, seeded.run_b]
    assert ordered[0]["metrics"]["acc"] == 0.91

    filtered = relay("runs", "ls", "--filter", "params.C = '10'", "--json").json()
    assert [r["name"] for r in filtered] == ["lr-big"]

    table = relay("runs", "ls", "--experiment", "exp", "--order-by", "metrics.acc DESC")
    assert table.code == 0
    assert table.out.index(seeded.run_a) < table.out.index(seeded.run_b)


def test_runs_ls_pages(seeded: Seeded) -> None:
    first = seeded.relay("runs", "ls", "--limit", "1", "--order-by", "metrics.acc DESC", "--json")
    assert [r["id"] for r in first.json()] == [seeded.run_a]
    token = first.err.split("--page-token ")[1].strip()
    second = seeded.relay(
        "runs",
        "ls",
        "--limit",
        "1",
        "--order-by",
        "metrics.acc DESC",
        "--page-token",
        token,
        "--json",
    )
    assert [r["id"] for r in second.json()] == [seeded.run_b]


def test_runs_show(seeded: Seeded) -> None:
    shown = seeded.relay("runs", "show", seeded.run_a)
    assert shown.code == 0, shown.err
    for expected in (seeded.run_a, "lr-small", "finished", "solver", "lbfgs", "team", "risk"):
        assert expected in shown.out
    assert "notes.txt" in shown.out
    assert "Captured context" in shown.out

    data = seeded.relay("runs", "show", seeded.run_a, "--json").json()
    assert data["params"] == {"C": "0.1", "solver": "lbfgs"}
    assert data["metrics"] == {"acc": 0.91, "loss": 0.2}
    assert data["status"] == "finished"
    assert [a["path"] for a in data["artifacts"]] == ["notes.txt"]
    assert len(data["artifacts"][0]["digest"]) == 64


def test_runs_compare_shows_both_runs_and_what_differs(seeded: Seeded) -> None:
    table = seeded.relay("runs", "compare", seeded.run_a, seeded.run_b)
    assert table.code == 0, table.err
    for expected in ("lr-small", "lr-big", seeded.run_a[:12], seeded.run_b[:12]):
        assert expected in table.out
    assert "params.C" in table.out and "metrics.acc" in table.out

    data = seeded.relay("runs", "compare", seeded.run_a, seeded.run_b, "--json").json()
    assert data["params"]["C"] == {seeded.run_a: "0.1", seeded.run_b: "10"}
    assert data["metrics"]["acc"] == {seeded.run_a: 0.91, seeded.run_b: 0.87}
    assert data["differing"] == {"params": ["C"], "metrics": ["acc"]}


def test_runs_compare_needs_two(seeded: Seeded) -> None:
    result = seeded.relay("runs", "compare", seeded.run_a)
    assert result.code == 2
    assert "at least two" in one_error_line(result)


def test_artifacts_ls_and_get(seeded: Seeded, tmp_path: Path) -> None:
    listed = seeded.relay("artifacts", "ls", seeded.run_a, "--json").json()
    assert [(a["path"], a["size"]) for a in listed] == [("notes.txt", 17)]

    dest = tmp_path / "downloads"
    got = seeded.relay("artifacts", "get", seeded.run_a, "notes.txt", "--dest", str(dest))
    assert got.code == 0, got.err
    assert (dest / "notes.txt").read_text() == "hello from run a\n"

    missing = seeded.relay("artifacts", "get", seeded.run_a, "nope.txt", "--dest", str(dest))
    assert missing.code == 2
    assert "nope.txt" in one_error_line(missing)


def test_artifact_get_refuses_a_corrupted_blob(seeded: Seeded, tmp_path: Path) -> None:
    blobs = [p for p in (seeded.relay.home / "artifacts").rglob("*") if p.is_file()]
    assert len(blobs) == 1
    blobs[0].write_text("tampered\n")
    dest = tmp_path / "downloads"
    result = seeded.relay("artifacts", "get", seeded.run_a, "notes.txt", "--dest", str(dest))
    assert result.code == 9
    one_error_line(result)
    assert not (dest / "notes.txt").exists()


HARD_DEATH = r"""
import os, relayml as relay
run = relay.start_run(experiment="e")
run.log_metric("loss", 0.5)
run.flush()
print(run.id, flush=True)
os.kill(os.getpid(), 9)   # no exit handler runs: the run is left `running`
"""


def test_runs_end_closes_a_run_whose_process_died(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.cli.conftest import Relay

    relay = Relay(tmp_path / ".relay")
    died = subprocess.run(
        [sys.executable, "-c", HARD_DEATH],
        env=relay.env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert died.returncode == -9
    run_id = died.stdout.strip()
    assert relay("runs", "show", run_id, "--json").json()["status"] == "running"
    ended = relay("runs", "end", run_id, "--status", "killed", "--json")
    assert ended.code == 0, ended.err
    assert ended.json()["status"] == "killed" and ended.json()["end_time"] is not None
    assert relay("runs", "show", run_id, "--json").json()["metrics"] == {"loss": 0.5}
    bad = relay("runs", "end", run_id, "--status", "running")
    assert bad.code == 2 and "finished, failed or killed" in bad.err
