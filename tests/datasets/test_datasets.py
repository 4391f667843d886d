"""The SDK: publish from every input kind, read back, quarantine, lineage, diff, drift."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import relayml as relay
from relayml.domain.pipelines import StepSpec
from relayml.sdk import session
from relayml.sdk.lineage import StepContext, current_step


def loans(n: int = 2000, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "amount": rng.lognormal(8 + shift, 0.5, n),
            "grade": rng.choice(["A", "B", "C"], n),
        }
    )


CONTRACT = {"columns": {"amount": {"min": 0}, "grade": {"allowed": ["A", "B", "C"]}}}


def test_publish_every_input_kind_and_read_back(home: Path) -> None:
    df = loans()
    df.to_csv(home / "loans.csv", index=False)
    df.to_parquet(home / "loans.parquet", index=False)
    progress: list[tuple[int, int | None]] = []
    ds = relay.datasets.publish(
        "loans",
        df,
        description="d",
        source="s3://raw/1",
        progress=lambda r, t: progress.append((r, t)),
    )
    assert (ds.ref, ds.rows, ds.version) == ("loans@1", 2000, 1)
    assert progress[-1] == (2000, 2000)
    table = pa.Table.from_pandas(df, preserve_index=False)
    assert relay.datasets.publish("loans", table).ref == "loans@1"  # same content
    assert relay.datasets.publish("loans", home / "loans.parquet").ref == "loans@1"
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(300))
    assert relay.datasets.publish("loans", reader).ref == "loans@1"
    import polars as pl

    assert relay.datasets.publish("loans", pl.from_pandas(df)).ref == "loans@1"
    from_csv = relay.datasets.publish("loans_csv", home / "loans.csv")
    assert from_csv.rows == 2000
    for got in (
        relay.datasets.get("loans@1"),
        relay.datasets.get("loans", version=1),
        relay.datasets.get("loans@latest"),
        relay.datasets.get("loans"),
    ):
        assert got.digest == ds.digest
    pd.testing.assert_frame_equal(relay.datasets.get("loans@1").to_pandas(), df)
    assert sum(b.num_rows for b in ds.iter_batches(batch_size=512)) == 2000
    assert [d.name for d in relay.datasets.list()] == ["loans", "loans_csv"]
    assert [v.ref for v in relay.datasets.versions("loans")] == ["loans@1"]
    with pytest.raises(relay.InvalidInput, match="cannot publish a list"):
        relay.datasets.publish("x", [1, 2])
    with pytest.raises(relay.InvalidInput, match="invalid dataset version"):
        relay.datasets.get("loans@two")


def test_quarantine_refuses_get_and_use_until_released(home: Path) -> None:
    good = relay.datasets.publish("loans", loans(), contract=CONTRACT)
    broken = loans(seed=1)
    broken.loc[:9, "amount"] = -1.0
    bad = relay.datasets.publish("loans", broken, contract=CONTRACT)
    assert bad.status.value == "quarantined" and bad.quality.passed is False
    assert [c.name for c in bad.quality.checks if not c.passed] == ["amount.range"]
    with pytest.raises(relay.Unprocessable, match=r"loans@2 is quarantined.*release"):
        relay.datasets.get("loans@2")
    assert relay.datasets.get("loans").ref == good.ref
    with relay.start_run("train") as run:
        with pytest.raises(relay.Unprocessable, match="allow_quarantined"):
            run.use_dataset(bad)
        peek = relay.datasets.get("loans@2", allow_quarantined=True).to_pandas()
        assert (peek["amount"] < 0).sum() == 10
        relay.datasets.release("loans@2", reason="test rows, accepted")
        assert run.use_dataset("loans@2").status.value == "released"
    assert relay.datasets.get("loans").ref == "loans@2"


def test_lineage_from_pipeline_step_and_runs(home: Path) -> None:
    raw = relay.datasets.publish("raw", loans(), source="s3://raw/2026-11-26")
    backend = session.current().backend  # a real pipeline run: a producer must exist
    steps = [StepSpec("clean")]
    backend.pipelines.register("data", "etl", module="etl:etl", steps=steps)
    prun = backend.pipelines.start_run("data", "etl", steps=steps).id
    token = current_step.set(StepContext(prun, "clean", inputs=(raw.ref,)))
    try:
        clean = relay.datasets.publish("clean", loans().query("amount > 1000"))
    finally:
        current_step.reset(token)
    assert clean.parents == ["raw@1"]
    assert clean.producer == {"pipeline_run": prun, "step": "clean"}
    with relay.start_run("train") as run:
        run.use_dataset(clean)
    graph = relay.datasets.lineage("raw@1")
    (child,) = graph.children
    assert child.ref == "clean@1" and [r.run_id for r in child.runs] == [run.id]
    assert relay.get_run(run.id).tags["relay.dataset.clean"] == "clean@1"


def test_diff_reports_schema_and_profile_changes(home: Path) -> None:
    relay.datasets.publish("loans", loans())
    changed = (
        loans(shift=1.0).drop(columns=["grade"]).assign(id=lambda d: d["id"].astype("float64"))
    )
    relay.datasets.publish("loans", changed.assign(term=36))
    d = relay.datasets.diff("loans@1", "loans@2")
    assert (d.added, d.removed, d.retyped) == (["term"], ["grade"], [("id", "int64", "double")])
    assert {(c.column, c.stat) for c in d.changed} >= {("amount", "mean"), ("amount", "max")}
    same = relay.datasets.diff("loans@1", "loans@1")
    assert same.same_schema and not same.changed


def test_drift_compares_against_the_stored_profile(home: Path) -> None:
    relay.datasets.publish("loans", loans(5000))
    relay.datasets.publish("loans", loans(5000, shift=0.5, seed=2))
    assert relay.drift.compare("loans@1", loans(5000, seed=3)).drifted == []
    assert "amount" in relay.drift.compare("loans@1", "loans@2").drifted
    # options the stored summary cannot serve fall back to the data itself
    report = relay.drift.compare("loans@1", loans(5000, seed=3), categorical=["id"])
    assert "amount" not in report.drifted


def test_a_csv_whose_types_change_late_is_refused_and_leaves_nothing(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relayml.tables import csv

    monkeypatch.setattr(csv, "CSV_BLOCK", 16_384)  # as a 16 MB block would a large file
    late = home / "late.csv"
    late.write_text("n\n" + "1\n" * 20_000 + "1.5\n")  # integers, then a float far down
    with pytest.raises(relay.InvalidInput, match=r"inferred from the file's first 16 KB"):
        relay.datasets.publish("late", late)
    assert [d.name for d in relay.datasets.list()] == []
    artifacts = home / ".relay" / "artifacts"
    assert not artifacts.exists() or not any(p.is_file() for p in artifacts.rglob("*"))
