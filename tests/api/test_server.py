"""`python -m relayml.api`: starts, and refuses a bad configuration in one readable line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_module(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relayml.api", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_names_the_options(tmp_path: Path) -> None:
    done = run_module("--help", env={"RELAY_HOME": str(tmp_path)})
    assert done.returncode == 0
    assert "--host" in done.stdout and "--port" in done.stdout


def test_bad_database_url_is_one_readable_line(tmp_path: Path) -> None:
    env = {"RELAY_HOME": str(tmp_path), "RELAY_DATABASE_URL": "mysql://root@127.0.0.1/x"}
    done = run_module("--port", "1", env=env)
    assert done.returncode == 2
    assert done.stderr.startswith("error: unsupported database 'mysql'")
    assert "Traceback" not in done.stderr
