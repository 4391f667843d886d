"""`relay contracts check | infer` in a subprocess: exit codes for CI, JSON, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

CONTRACT = """\
columns:
  id: {type: int64, unique: true}
  amount: {type: float64, nullable: false, min: 0}
  grade: {allowed: [A, B], severity: warn}
"""


def relay(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_") and k != "COLUMNS"}
    env.update(RELAY_HOME=str(home / ".relay"), RELAY_USER="admin", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "relayml.cli.app", *args], cwd=home, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "contract.yaml").write_text(CONTRACT)
    good = pa.table({"id": [1, 2, 3], "amount": [1.0, 2.0, 3.0], "grade": ["A", "B", "C"]})
    pq.write_table(good, tmp_path / "good.parquet")
    bad = pa.table({"id": [1, 1, 3], "amount": [1.0, None, -3.0], "grade": ["A", "B", "A"]})
    pq.write_table(bad, tmp_path / "bad.parquet")
    return tmp_path


def test_check_exit_codes_for_ci(files: Path) -> None:
    ok = relay(files, "contracts", "check", "contract.yaml", "good.parquet")
    assert ok.returncode == 0, ok.stderr
    assert "grade.allowed" in ok.stdout and "warn" in ok.stdout and "PASSED" in ok.stdout
    bad = relay(files, "contracts", "check", "contract.yaml", "bad.parquet")
    assert bad.returncode == 1
    assert "FAIL" in bad.stdout and "id.unique" in bad.stdout and "FAILED: 3 rows" in bad.stdout
    as_json = relay(files, "contracts", "check", "contract.yaml", "bad.parquet", "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    failing = {c["name"]: c["failing_count"] for c in report["checks"] if not c["passed"]}
    assert failing == {"id.unique": 2, "amount.not_null": 1, "amount.range": 1}


def test_check_bad_input_is_one_error_line(files: Path) -> None:
    (files / "broken.yaml").write_text("columns:\n  id: {type: int99}\n")
    r = relay(files, "contracts", "check", "broken.yaml", "good.parquet")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("error: broken.yaml:2: columns.id.type: unknown type 'int99'")
    assert "Traceback" not in r.stderr
    missing = relay(files, "contracts", "check", "contract.yaml", "nope.parquet")
    assert missing.returncode == 5 and "no such file" in missing.stderr
    (files / "code.yaml").write_text("checks:\n  - custom: 'os:getcwd'\n")
    code = relay(files, "contracts", "check", "code.yaml", "good.parquet")
    assert code.returncode == 2 and "--trust-code" in code.stderr


def test_infer_writes_a_contract_the_data_passes(files: Path) -> None:
    r = relay(files, "contracts", "infer", "good.parquet", "-o", "inferred.yaml")
    assert r.returncode == 0, r.stderr
    text = (files / "inferred.yaml").read_text()
    assert "name: good" in text and "unique: true" in text
    again = relay(files, "contracts", "check", "inferred.yaml", "good.parquet")
    assert again.returncode == 0, again.stdout
    to_stdout = relay(files, "contracts", "infer", "good.parquet")
    assert to_stdout.stdout == text


def test_infer_and_check_a_dataset_version(files: Path) -> None:
    pytest.importorskip("relayml.sdk.datasets")
    script = (
        "import relayml as relay, pyarrow.parquet as pq\n"
        "relay.datasets.publish('loans', 'good.parquet')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(RELAY_HOME=str(files / ".relay"), RELAY_USER="admin")
    subprocess.run([sys.executable, "-c", script], cwd=files, env=env, check=True, timeout=120)
    r = relay(files, "contracts", "infer", "loans@1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("name: loans\n") and "unique: true" in r.stdout
    check = relay(files, "contracts", "check", "contract.yaml", "loans@1")
    assert check.returncode == 0, check.stdout + check.stderr
    missing = relay(files, "contracts", "infer", "loans@9")
    assert missing.returncode == 5, missing.stderr
