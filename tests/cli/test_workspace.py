"""The workspace: the store is found from any folder below it, and `relay use` remembers the
project, so the README's Python and its next CLI line talk about the same runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import CLEARED, Result, one_error_line

SCRIPT = """
import relayml as relay
relay.init(project="churn")
with relay.start_run(experiment="baseline", name="lr") as run:
    run.log_metrics({"acc": 0.91})
"""


def _relay(cwd: Path, *args: str) -> Result:
    env = {k: v for k, v in os.environ.items() if k not in (*CLEARED, "RELAY_HOME")}
    env.update(RELAY_USER="admin", NO_COLOR="1")
    proc = subprocess.run(
        [sys.executable, "-m", "relayml.cli.app", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_store_is_found_from_a_subfolder_like_git(tmp_path: Path) -> None:
    init = _relay(tmp_path, "init", "--project", "churn")
    assert init.code == 0, init.err
    assert str(tmp_path / ".relay") in init.out
    deep = tmp_path / "src" / "models"
    deep.mkdir(parents=True)
    status = _relay(deep, "status", "--json")
    assert status.code == 0, status.err
    info = status.json()
    assert info["store"] == str(tmp_path / ".relay")
    assert info["project"] == "churn"  # remembered by init --project
    assert not (deep / ".relay").exists()  # nothing created where the command ran


def test_without_a_store_the_current_folder_is_used_and_status_says_so(tmp_path: Path) -> None:
    status = _relay(tmp_path, "status")
    assert status.code == 0, status.err
    assert str(tmp_path / ".relay") in status.out
    assert "relay init" in status.out
    assert "project: default" in status.out


def test_use_remembers_the_project_for_cli_and_sdk(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in (*CLEARED, "RELAY_HOME")}
    env["RELAY_USER"] = "admin"
    subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, check=True, timeout=120)

    before = _relay(tmp_path, "runs", "ls")
    assert "no runs match in project 'default'" in before.out
    assert "relay use NAME" in before.out  # the newcomer is told what to do

    used = _relay(tmp_path, "use", "churn")
    assert used.code == 0, used.err
    after = _relay(tmp_path, "runs", "ls", "--json")
    assert [r["name"] for r in after.json()] == ["lr"]

    # the SDK's relay.init() with no project lands in the remembered one too
    code = "import relayml as relay; print(relay.init().project)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.stdout.strip() == "churn", out.stderr

    # an explicit --project still wins
    explicit = _relay(tmp_path, "--project", "default", "runs", "ls", "--json")
    assert explicit.json() == []


def test_use_refuses_an_unknown_project_and_keeps_the_old_one(tmp_path: Path) -> None:
    assert _relay(tmp_path, "init", "--project", "churn").code == 0
    bad = _relay(tmp_path, "use", "chrun")
    assert bad.code != 0
    line = one_error_line(bad)
    assert "'chrun'" in line and "churn" in line and "relay projects create" in line
    assert _relay(tmp_path, "status", "--json").json()["project"] == "churn"


def test_a_corrupt_workspace_file_is_a_clear_error(tmp_path: Path) -> None:
    assert _relay(tmp_path, "init").code == 0
    (tmp_path / ".relay" / "workspace.json").write_text("{not json")
    bad = _relay(tmp_path, "runs", "ls")
    line = one_error_line(bad)
    assert "workspace.json" in line and "relay use" in line
