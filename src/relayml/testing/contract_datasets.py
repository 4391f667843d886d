"""The backend contract for datasets: see BackendContract in contract.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relayml.domain.datasets import DatasetStatus
from relayml.domain.pipelines import StepSpec
from relayml.errors import NotFound, PermissionDenied, Unprocessable
from relayml.testing.contract import ContractEnv

CONTRACT = """\
columns:
  amount:
    type: float64
    min: 0
"""


def _parquet(tmp_path: Path, name: str, amounts: list[float], chunk: int | None = None) -> Path:
    import pyarrow as pa

    from relayml.tables.parquet import write_normalized

    table = pa.table({"id": list(range(len(amounts))), "amount": amounts})
    data: Any = table
    if chunk:  # the same content, cut into other batches: must get the same digest
        data = pa.Table.from_batches(table.to_batches(max_chunksize=chunk))
    path = tmp_path / f"{name}.parquet"
    write_normalized(data, path, None)
    return path


class DatasetContract:
    def test_publish_versions_dedup_and_read(self, contract: ContractEnv, tmp_path: Path) -> None:
        import pyarrow.parquet as pq

        b = contract.admin
        p = contract.new_project()
        first = b.publish_dataset(
            p, "loans", _parquet(tmp_path, "a", [1.0, 2.5, 4.0]), source="s3://raw/a"
        )
        assert (first.ref, first.rows, first.status) == ("loans@1", 3, DatasetStatus.VALID)
        assert [c["name"] for c in first.schema] == ["id", "amount"]
        assert first.profile["columns"]["amount"]["mean"] == pytest.approx(2.5)
        again = b.publish_dataset(p, "loans", _parquet(tmp_path, "a2", [1.0, 2.5, 4.0], chunk=1))
        assert again.version == 1 and again.digest == first.digest
        second = b.publish_dataset(p, "loans", _parquet(tmp_path, "b", [5.0]))
        assert second.version == 2 and second.digest != first.digest
        assert [v.version for v in b.dataset_versions(p, "loans")] == [1, 2]
        (info,) = b.list_datasets(p)
        assert (info.name, info.versions, info.latest) == ("loans", 2, 2)
        assert b.get_dataset(p, "loans").version == 2
        assert b.get_dataset(p, "loans@1").source == "s3://raw/a"
        out = b.download_dataset(p, "loans@1", tmp_path / "out" / "loans.parquet")
        assert pq.read_table(out).column("amount").to_pylist() == [1.0, 2.5, 4.0]
        sketch = b.dataset_sketch(p, "loans@1")
        assert sketch["n_rows"] == 3 and set(sketch["columns"]) == {"id", "amount"}
        with pytest.raises(NotFound):
            b.get_dataset(p, "loans@9")
        with pytest.raises(NotFound):
            b.get_dataset(p, "nope")

    def test_quarantine_refuses_until_released(self, contract: ContractEnv, tmp_path: Path) -> None:
        b = contract.admin
        p = contract.new_project()
        good = b.publish_dataset(p, "tx", _parquet(tmp_path, "g", [1.0]), contract=CONTRACT)
        assert good.status is DatasetStatus.VALID and good.quality is not None
        bad = b.publish_dataset(p, "tx", _parquet(tmp_path, "b", [1.0, -3.0]), contract=CONTRACT)
        assert bad.status is DatasetStatus.QUARANTINED
        assert bad.quality is not None and bad.quality["passed"] is False
        assert bad.failed_checks() == ["amount.range"]
        run = b.create_run(project=p, experiment="train")
        for refuse in (
            lambda: b.get_dataset(p, "tx@2"),
            lambda: b.download_dataset(p, "tx@2", tmp_path / "x.parquet"),
            lambda: b.use_dataset(run.id, "tx@2"),
        ):
            with pytest.raises(Unprocessable, match=r"tx@2 is quarantined.*amount\.range"):
                refuse()
        assert b.get_dataset(p, "tx").version == 1  # latest skips quarantined versions
        assert b.get_dataset(p, "tx@2", allow_quarantined=True).version == 2
        scientist = contract.as_role(p, "data_scientist")
        with pytest.raises(PermissionDenied, match=r"dataset\.release"):
            scientist.release_dataset(p, "tx@2", "looks fine to me")
        engineer = contract.as_role(p, "data_engineer")
        released = engineer.release_dataset(p, "tx@2", "refunds are negative; agreed with finance")
        assert released.status is DatasetStatus.RELEASED
        assert released.released_by == engineer.user
        assert released.release_reason == "refunds are negative; agreed with finance"
        assert b.get_dataset(p, "tx").version == 2
        assert b.use_dataset(run.id, "tx@2").ref == "tx@2"
        events = b.audit_log(project=p, action="dataset.release", limit=5)
        assert {(e.actor, e.entity_id, e.outcome) for e in events} == {
            (engineer.user, "tx@2", "ok"),
            (scientist.user, "tx@2", "denied"),
        }

    def test_lineage_both_ways(self, contract: ContractEnv, tmp_path: Path) -> None:
        b = contract.admin
        p = contract.new_project()
        b.publish_dataset(p, "raw", _parquet(tmp_path, "r", [1.0, 2.0]), source="s3://raw/1")
        steps = [StepSpec("clean")]
        b.register_pipeline(p, "etl", module="etl:etl", steps=steps)
        prun = b.start_pipeline_run(p, "etl", steps=steps).id
        for forged in ({"pipeline_run": "0" * 32, "step": "clean"},
                       {"pipeline_run": prun, "step": "nope"}):  # fmt: skip
            with pytest.raises(NotFound):  # a producer must exist, in this project
                b.publish_dataset(p, "clean", _parquet(tmp_path, "c", [1.0]), producer=forged)
        producer = {"pipeline_run": prun, "step": "clean"}
        child = b.publish_dataset(
            p, "clean", _parquet(tmp_path, "c", [1.0]), parents=["raw@1"], producer=producer
        )
        assert child.parents == ["raw@1"] and child.producer == producer
        run = b.create_run(project=p, experiment="train")
        b.use_dataset(run.id, "clean@1")
        assert b.get_run(run.id).tags["relay.dataset.clean"] == "clean@1"
        up = b.dataset_lineage(p, "clean@1")
        assert [n.ref for n in up.parents] == ["raw@1"] and up.parents[0].source == "s3://raw/1"
        assert up.producer == producer and [r.run_id for r in up.runs] == [run.id]
        down = b.dataset_lineage(p, "raw@1")
        assert [n.ref for n in down.children] == ["clean@1"]
        assert [r.run_id for r in down.children[0].runs] == [run.id]
        with pytest.raises(NotFound):
            b.publish_dataset(p, "x", _parquet(tmp_path, "x", [1.0]), parents=["raw@7"])

    def test_dataset_roles(self, contract: ContractEnv, tmp_path: Path) -> None:
        p = contract.new_project()
        path = _parquet(tmp_path, "d", [1.0, 2.0])
        scientist = contract.as_role(p, "data_scientist")
        with pytest.raises(PermissionDenied, match=r"dataset\.publish"):
            scientist.publish_dataset(p, "loans", path)
        engineer = contract.as_role(p, "data_engineer")
        engineer.publish_dataset(p, "loans", path)
        run = scientist.create_run(project=p, experiment="e")
        assert scientist.use_dataset(run.id, "loans@1").version == 1
        viewer = contract.as_role(p, "stakeholder")
        assert [d.name for d in viewer.list_datasets(p)] == ["loans"]
        assert viewer.get_dataset(p, "loans@1").rows == 2
        with pytest.raises(PermissionDenied):
            viewer.use_dataset(run.id, "loans@1")
        with pytest.raises(PermissionDenied):
            viewer.publish_dataset(p, "loans", path)
        denied = contract.admin.audit_log(project=p, actor=scientist.user, limit=10)
        assert any(e.action == "dataset.publish" and e.outcome == "denied" for e in denied)
