"""The backend contract for datasets: see BackendContract in contract.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relayml.domain.datasets import DatasetStatus
from relayml.domain.pipelines import StepSpec
from relayml.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unprocessable
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
        first = b.datasets.publish(
            p, "loans", _parquet(tmp_path, "a", [1.0, 2.5, 4.0]), source="s3://raw/a"
        )
        assert (first.ref, first.rows, first.status) == ("loans@1", 3, DatasetStatus.VALID)
        assert [c["name"] for c in first.schema] == ["id", "amount"]
        assert first.profile["columns"]["amount"]["mean"] == pytest.approx(2.5)
        again = b.datasets.publish(p, "loans", _parquet(tmp_path, "a2", [1.0, 2.5, 4.0], chunk=1))
        assert again.version == 1 and again.digest == first.digest
        second = b.datasets.publish(p, "loans", _parquet(tmp_path, "b", [5.0]))
        assert second.version == 2 and second.digest != first.digest
        assert [v.version for v in b.datasets.versions(p, "loans")] == [1, 2]
        (info,) = b.datasets.list_datasets(p)
        assert (info.name, info.versions, info.latest) == ("loans", 2, 2)
        assert b.datasets.get(p, "loans").version == 2
        assert b.datasets.get(p, "loans@1").source == "s3://raw/a"
        out = b.datasets.download(p, "loans@1", tmp_path / "out" / "loans.parquet")
        assert pq.read_table(out).column("amount").to_pylist() == [1.0, 2.5, 4.0]
        sketch = b.datasets.sketch(p, "loans@1")
        assert sketch["n_rows"] == 3 and set(sketch["columns"]) == {"id", "amount"}
        with pytest.raises(NotFound):
            b.datasets.get(p, "loans@9")
        with pytest.raises(NotFound):
            b.datasets.get(p, "nope")

    def test_the_same_data_under_a_new_contract_is_not_passed_off_as_checked(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        b = contract.admin
        p = contract.new_project()
        plain = b.datasets.publish(p, "tx", _parquet(tmp_path, "n", [1.0, -3.0]))
        assert plain.contract is None
        with pytest.raises(
            Conflict,
            match=r"already tx@1, published without a contract; the "
            r"contract you gave fails amount\.range",
        ):
            b.datasets.publish(p, "tx", _parquet(tmp_path, "n2", [1.0, -3.0]), contract=CONTRACT)
        assert [v.version for v in b.datasets.versions(p, "tx")] == [1]
        # the same data and the same contract again (a retry) is the same version
        checked = b.datasets.publish(p, "ty", _parquet(tmp_path, "c", [1.0]), contract=CONTRACT)
        again = b.datasets.publish(p, "ty", _parquet(tmp_path, "c2", [1.0]), contract=CONTRACT)
        assert again.version == checked.version == 1

    def test_quarantine_refuses_until_released(self, contract: ContractEnv, tmp_path: Path) -> None:
        b = contract.admin
        p = contract.new_project()
        good = b.datasets.publish(p, "tx", _parquet(tmp_path, "g", [1.0]), contract=CONTRACT)
        assert good.status is DatasetStatus.VALID and good.quality is not None
        bad = b.datasets.publish(p, "tx", _parquet(tmp_path, "b", [1.0, -3.0]), contract=CONTRACT)
        assert bad.status is DatasetStatus.QUARANTINED
        assert bad.quality is not None and bad.quality["passed"] is False
        assert bad.failed_checks() == ["amount.range"]
        run = b.tracking.create_run(project=p, experiment="train")
        for refuse in (
            lambda: b.datasets.get(p, "tx@2"),
            lambda: b.datasets.download(p, "tx@2", tmp_path / "x.parquet"),
            lambda: b.datasets.use(run.id, "tx@2"),
        ):
            with pytest.raises(Unprocessable, match=r"tx@2 is quarantined.*amount\.range"):
                refuse()
        assert b.datasets.get(p, "tx").version == 1  # latest skips quarantined versions
        assert b.datasets.get(p, "tx@2", allow_quarantined=True).version == 2
        scientist = contract.as_role(p, "data_scientist")
        with pytest.raises(PermissionDenied, match=r"dataset\.release"):
            scientist.datasets.release(p, "tx@2", "looks fine to me")
        engineer = contract.as_role(p, "data_engineer")
        released = engineer.datasets.release(p, "tx@2", "refunds are negative; agreed with finance")
        assert released.status is DatasetStatus.RELEASED
        assert released.released_by == engineer.user
        assert released.release_reason == "refunds are negative; agreed with finance"
        assert b.datasets.get(p, "tx").version == 2
        assert b.datasets.use(run.id, "tx@2").ref == "tx@2"
        events = b.audit.log(project=p, action="dataset.release", limit=5)
        assert {(e.actor, e.entity_id, e.outcome) for e in events} == {
            (engineer.user, "tx@2", "ok"),
            (scientist.user, "tx@2", "denied"),
        }

    def test_undo_release_and_deprecate(self, contract: ContractEnv, tmp_path: Path) -> None:
        b = contract.admin
        p = contract.new_project()
        b.datasets.publish(p, "tx", _parquet(tmp_path, "g", [1.0]), contract=CONTRACT)
        b.datasets.publish(p, "tx", _parquet(tmp_path, "b", [1.0, -3.0]), contract=CONTRACT)
        engineer = contract.as_role(p, "data_engineer")
        engineer.datasets.release(p, "tx@2", "refunds are negative")
        run = b.tracking.create_run(project=p, experiment="train")
        # undo the release: readers are refused again, who and why are kept
        back = engineer.datasets.quarantine(p, "tx@2", "finance says refunds must be positive")
        assert back.status is DatasetStatus.QUARANTINED
        assert back.quarantined_by == engineer.user
        assert back.quarantine_reason == "finance says refunds must be positive"
        with pytest.raises(Unprocessable, match=r"tx@2 is quarantined"):
            b.datasets.use(run.id, "tx@2")
        assert b.datasets.get(p, "tx").version == 1
        with pytest.raises(Conflict, match="quarantined already"):
            engineer.datasets.quarantine(p, "tx@2", "again")
        # deprecate: still readable, new uses refused, the bare name skips it
        b.datasets.publish(p, "tx", _parquet(tmp_path, "c", [1.0, 2.0]), contract=CONTRACT)
        old = engineer.datasets.deprecate(p, "tx@1", "superseded by tx@3 (fixed currency)")
        assert old.deprecated and old.deprecated_by == engineer.user
        assert b.datasets.get(p, "tx@1").deprecation_reason == "superseded by tx@3 (fixed currency)"
        assert b.datasets.get(p, "tx").version == 3
        with pytest.raises(Unprocessable, match=r"tx@1 is deprecated.*superseded"):
            b.datasets.use(run.id, "tx@1")
        with pytest.raises(Conflict, match="deprecated already"):
            engineer.datasets.deprecate(p, "tx@1", "twice")
        scientist = contract.as_role(p, "data_scientist")
        for change in (scientist.datasets.deprecate, scientist.datasets.undeprecate,
                       scientist.datasets.quarantine):  # fmt: skip
            with pytest.raises(PermissionDenied, match=r"dataset\.release"):
                change(p, "tx@3", "not mine to decide")
        for change in (engineer.datasets.deprecate, engineer.datasets.quarantine):
            with pytest.raises(InvalidInput, match="reason"):
                change(p, "tx@3", "  ")
            with pytest.raises(InvalidInput, match="name the version"):
                change(p, "tx", "which one?")
            for bad in ("a lone \ud800 surrogate", "a NUL \x00", "x" * 9000):
                with pytest.raises(InvalidInput):
                    change(p, "tx@3", bad)
        restored = engineer.datasets.undeprecate(p, "tx@1", "tx@3 was wrong after all")
        assert not restored.deprecated and restored.deprecation_reason is None
        assert b.datasets.use(run.id, "tx@1").ref == "tx@1"
        with pytest.raises(Conflict, match="not deprecated"):
            engineer.datasets.undeprecate(p, "tx@1", "again")
        actions = [e.action for e in b.audit.log(project=p, entity_kind="dataset", limit=50)]
        for action in ("dataset.quarantine", "dataset.deprecate", "dataset.undeprecate"):
            assert action in actions

    def test_trusted_custom_checks(self, contract: ContractEnv, tmp_path: Path) -> None:
        b = contract.admin
        p, other = contract.new_project(), contract.new_project()
        ref = "relayml.testing.checks:positive_amount"
        text = f"columns:\n  amount:\n    custom:\n      - {{name: positive, function: '{ref}'}}\n"
        data = _parquet(tmp_path, "neg", [1.0, -2.0])
        with pytest.raises(InvalidInput, match=r"only when it is trusted.*relay contracts trust"):
            b.datasets.publish(p, "tx", data, contract=text)  # installed, not trusted here
        assert b.datasets.list_datasets(p) == []  # nothing half-published
        assert ref in b.datasets.installed_checks()
        engineer = contract.as_role(p, "data_engineer")
        with pytest.raises(PermissionDenied, match=r"check\.trust"):
            engineer.datasets.trust_check(p, ref, "I wrote it")
        with pytest.raises(Unprocessable, match="not installed on this server"):
            b.datasets.trust_check(p, "os:system", "no")
        with pytest.raises(InvalidInput, match=r"package\.module:function"):
            b.datasets.trust_check(p, "os.system", "no")
        with pytest.raises(InvalidInput, match="reason"):
            b.datasets.trust_check(p, ref, " ")
        trusted = b.datasets.trust_check(p, ref, "reviewed in PR 12")
        assert (trusted.ref, trusted.added_by, trusted.reason) == (ref, b.user, "reviewed in PR 12")
        with pytest.raises(Conflict, match="already"):
            b.datasets.trust_check(p, ref, "again")
        assert [c.ref for c in engineer.datasets.list_trusted_checks(p)] == [ref]
        # the server runs it on published data: the negative amount quarantines the version
        v = engineer.datasets.publish(p, "tx", data, contract=text)
        assert v.status is DatasetStatus.QUARANTINED
        assert any("positive" in c for c in v.failed_checks())
        ok = engineer.datasets.publish(
            p, "tx", _parquet(tmp_path, "pos", [1.0, 2.0]), contract=text
        )
        assert ok.status is DatasetStatus.VALID
        with pytest.raises(InvalidInput, match="only when it is trusted"):  # trust is per project
            b.datasets.publish(other, "tx", data, contract=text)
        with pytest.raises(PermissionDenied, match=r"check\.trust"):
            engineer.datasets.untrust_check(p, ref, "mine now")
        b.datasets.untrust_check(p, ref, "owner left; unreviewed changes")
        assert b.datasets.list_trusted_checks(p) == []
        with pytest.raises(NotFound, match="not trusted"):
            b.datasets.untrust_check(p, ref, "twice")
        with pytest.raises(InvalidInput, match="only when it is trusted"):
            b.datasets.publish(p, "tx", _parquet(tmp_path, "n2", [3.0, -1.0]), contract=text)
        assert b.datasets.get(p, "tx@2").status is DatasetStatus.VALID  # what it checked stays
        actions = [e.action for e in b.audit.log(project=p, entity_kind="project", limit=50)]
        assert "check.trust" in actions and "check.untrust" in actions

    def test_lineage_both_ways(self, contract: ContractEnv, tmp_path: Path) -> None:
        b = contract.admin
        p = contract.new_project()
        b.datasets.publish(p, "raw", _parquet(tmp_path, "r", [1.0, 2.0]), source="s3://raw/1")
        steps = [StepSpec("clean")]
        b.pipelines.register(p, "etl", module="etl:etl", steps=steps)
        prun = b.pipelines.start_run(p, "etl", steps=steps).id
        for forged in ({"pipeline_run": "0" * 32, "step": "clean"},
                       {"pipeline_run": prun, "step": "nope"}):  # fmt: skip
            with pytest.raises(NotFound):  # a producer must exist, in this project
                b.datasets.publish(p, "clean", _parquet(tmp_path, "c", [1.0]), producer=forged)
        producer = {"pipeline_run": prun, "step": "clean"}
        child = b.datasets.publish(
            p, "clean", _parquet(tmp_path, "c", [1.0]), parents=["raw@1"], producer=producer
        )
        assert child.parents == ["raw@1"] and child.producer == producer
        run = b.tracking.create_run(project=p, experiment="train")
        b.datasets.use(run.id, "clean@1")
        assert b.tracking.get_run(run.id).tags["relay.dataset.clean"] == "clean@1"
        up = b.datasets.lineage(p, "clean@1")
        assert [n.ref for n in up.parents] == ["raw@1"] and up.parents[0].source == "s3://raw/1"
        assert up.producer == producer and [r.run_id for r in up.runs] == [run.id]
        down = b.datasets.lineage(p, "raw@1")
        assert [n.ref for n in down.children] == ["clean@1"]
        assert [r.run_id for r in down.children[0].runs] == [run.id]
        with pytest.raises(NotFound):
            b.datasets.publish(p, "x", _parquet(tmp_path, "x", [1.0]), parents=["raw@7"])

    def test_dataset_roles(self, contract: ContractEnv, tmp_path: Path) -> None:
        p = contract.new_project()
        path = _parquet(tmp_path, "d", [1.0, 2.0])
        scientist = contract.as_role(p, "data_scientist")
        with pytest.raises(PermissionDenied, match=r"dataset\.publish"):
            scientist.datasets.publish(p, "loans", path)
        engineer = contract.as_role(p, "data_engineer")
        engineer.datasets.publish(p, "loans", path)
        run = scientist.tracking.create_run(project=p, experiment="e")
        assert scientist.datasets.use(run.id, "loans@1").version == 1
        viewer = contract.as_role(p, "stakeholder")
        assert [d.name for d in viewer.datasets.list_datasets(p)] == ["loans"]
        assert viewer.datasets.get(p, "loans@1").rows == 2
        with pytest.raises(PermissionDenied):
            viewer.datasets.use(run.id, "loans@1")
        with pytest.raises(PermissionDenied):
            viewer.datasets.publish(p, "loans", path)
        denied = contract.admin.audit.log(project=p, actor=scientist.user, limit=10)
        assert any(e.action == "dataset.publish" and e.outcome == "denied" for e in denied)
