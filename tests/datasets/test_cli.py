"""`relay datasets ...` in a subprocess, as a data engineer uses it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.cli.conftest import Relay, one_error_line


@pytest.fixture
def relay(tmp_path: Path) -> Relay:
    return Relay(tmp_path / ".relay")


def test_datasets_cli_end_to_end(relay: Relay, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"id": np.arange(500), "amount": rng.normal(100, 5, 500)})
    df.to_csv(tmp_path / "good.csv", index=False)
    df.assign(amount=-df["amount"]).to_parquet(tmp_path / "bad.parquet", index=False)
    (tmp_path / "loans.yaml").write_text("columns:\n  amount:\n    min: 0\n")

    r = relay("datasets", "publish", "loans", str(tmp_path / "good.csv"), "--contract",
              str(tmp_path / "loans.yaml"), "--source", "s3://raw/1")  # fmt: skip
    assert r.code == 0, r.err
    assert "published default/loans@1 (500 rows) valid" in r.out
    r = relay("datasets", "publish", "loans", str(tmp_path / "bad.parquet"), "-c",
              str(tmp_path / "loans.yaml"), "--parent", "loans@1")  # fmt: skip
    assert r.code == 0 and "quarantined" in r.out and "amount.range" in r.out

    assert relay("datasets", "ls", "--json").json()[0] == {
        **relay("datasets", "ls", "--json").json()[0],
        "name": "loans",
        "versions": 2,
        "latest": 1,
    }
    versions = relay("datasets", "versions", "loans", "--json").json()
    assert [(v["ref"], v["status"]) for v in versions] == [
        ("loans@1", "valid"),
        ("loans@2", "quarantined"),
    ]
    show = relay("datasets", "show", "loans@2")
    assert show.code == 0 and "amount.range" in show.out and "FAIL" in show.out

    refused = relay("datasets", "get", "loans@2", "-o", str(tmp_path / "x.parquet"))
    assert refused.code == 7 and "release" in one_error_line(refused)
    got = relay("datasets", "get", "loans@1", "-o", str(tmp_path / "out.csv"))
    assert got.code == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out.csv"), df)

    diff = relay("datasets", "diff", "loans@1", "loans@2", "--json").json()
    assert {(c["column"], c["stat"]) for c in diff["changed"]} >= {("amount", "mean")}
    lineage = relay("datasets", "lineage", "loans@1")
    assert "upstream" in lineage.out and "s3://raw/1" in lineage.out and "loans@2" in lineage.out

    no_reason = relay("datasets", "release", "loans@2", "--reason", " ")
    assert no_reason.code == 2
    assert relay("datasets", "release", "loans@2", "--reason", "sign flip is known").code == 0
    assert relay("datasets", "get", "loans@2", "-o", str(tmp_path / "y.parquet")).code == 0
    audit = relay("audit", "log", "--json", "--action", "dataset.release")
    assert audit.code == 0 and "loans@2" in audit.out

    # undo the release; deprecate the old version: readable with a warning, marked everywhere
    back = relay("datasets", "quarantine", "loans@2", "--reason", "finance disagrees")
    assert back.code == 0 and "quarantined loans@2" in back.out
    assert relay("datasets", "get", "loans@2", "-o", str(tmp_path / "z.parquet")).code == 7
    dep = relay("datasets", "deprecate", "loans@1", "--reason", "use loans@3 when it lands")
    assert dep.code == 0, dep.err
    warned = relay("datasets", "get", "loans@1", "-o", str(tmp_path / "old.parquet"))
    assert warned.code == 0 and "deprecated" in warned.err and "use loans@3" in warned.err
    listed = relay("datasets", "versions", "loans")
    assert "deprecated" in listed.out
    shown = relay("datasets", "show", "loans@1")
    assert "deprecated by" in shown.out and "use loans@3" in shown.out
    assert relay("datasets", "show", "loans@1", "--json").json()["deprecated_by"]
    assert relay("datasets", "undeprecate", "loans@1", "--reason", "needed").code == 0


def test_drift_gate_against_a_dataset_version_in_a_named_project(
    relay: Relay, tmp_path: Path
) -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"amount": rng.normal(100, 5, 5_000), "age": rng.integers(18, 90, 5_000)})
    df.to_parquet(tmp_path / "train.parquet", index=False)
    same = df.sample(frac=1.0, random_state=2)
    same.to_parquet(tmp_path / "same.parquet", index=False)
    df.assign(amount=df["amount"] * 1.2).to_parquet(tmp_path / "shifted.parquet", index=False)
    assert relay("projects", "create", "risk").code == 0
    r = relay("--project", "risk", "datasets", "publish", "loans", str(tmp_path / "train.parquet"))
    assert r.code == 0, r.err

    ok = relay("--project", "risk", "drift", "loans@1", str(tmp_path / "same.parquet"),
               "--fail-on-drift")  # fmt: skip
    assert ok.code == 0, ok.err
    gate = relay("--project", "risk", "drift", "loans@1", str(tmp_path / "shifted.parquet"),
                 "--fail-on-drift")  # fmt: skip
    assert gate.code == 1 and "amount" in gate.out
