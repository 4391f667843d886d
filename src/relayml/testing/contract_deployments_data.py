"""The backend contract for a deployment's prediction data: feedback by prediction id, alone and
in batches; prediction-log segments registered, listed and read back; live traffic counted per
arm from the log — with roles and audit, the same on every backend. The rest of the `deployments`
area's contract is `testing/contract_deployments.py`."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from relayml.domain.audit import EntityKind
from relayml.domain.deployments import FeedbackItem
from relayml.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from relayml.testing.contract import ContractEnv
from relayml.testing.contract_deployments import _crew


def _segment_file(tmp_path: Path, name: str, rows: int = 3) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / name
    table = pa.table({"prediction_id": [f"p{i}-{name}" for i in range(rows)], "x": range(rows)})
    pq.write_table(table, path)
    return path


class DeploymentDataContract:
    def test_feedback_is_kept_by_prediction_id(self, contract: ContractEnv, tmp_path: Path) -> None:
        crew = _crew(contract, tmp_path, versions=1)
        p, fan, ml = crew.project, crew.fan, crew.ml
        ml.deployments.create(p, "churn-api", "churn@1")
        first = fan.deployments.submit_feedback(
            p, "churn-api", "pred-1", label="churned", comment="called us to cancel"
        )
        assert (first.prediction_id, first.label, first.outcome, first.who) == (
            "pred-1",
            "churned",
            None,
            fan.user,
        )
        with pytest.raises(Conflict, match="already has feedback"):
            fan.deployments.submit_feedback(p, "churn-api", "pred-1", label="stayed")
        again = fan.deployments.submit_feedback(
            p, "churn-api", "pred-1", label="stayed", replace=True
        )
        assert again.label == "stayed" and again.comment is None
        ml.deployments.submit_feedback(p, "churn-api", "pred-2", outcome=129.5)
        ml.deployments.submit_feedback(p, "churn-api", "pred-3", label=True)
        ml.deployments.submit_feedback(p, "churn-api", "pred-4", label=2**63 - 1)
        found = crew.ops.deployments.list_feedback(
            p, "churn-api", prediction_ids=["pred-3", "pred-1", "unknown", "pred-4"]
        )
        assert {f.prediction_id: f.label for f in found} == {
            "pred-1": "stayed",
            "pred-3": True,
            "pred-4": 2**63 - 1,
        }
        assert isinstance(found[[f.prediction_id for f in found].index("pred-3")].label, bool)
        every = fan.deployments.list_feedback(p, "churn-api")
        assert [f.prediction_id for f in every] == ["pred-1", "pred-2", "pred-3", "pred-4"]
        assert every[1].outcome == 129.5 and every[1].label is None
        later = fan.deployments.list_feedback(p, "churn-api", since=every[2].at, limit=1)
        assert [f.prediction_id for f in later] == ["pred-3"]
        bad: list[tuple[str, dict[str, Any]]] = [
            ("needs a label", {"comment": "only words"}),
            ("not a finite number", {"label": math.nan}),
            ("not a finite number", {"outcome": math.inf}),
            ("lone surrogate", {"label": 1, "comment": "x\udc80"}),
            ("limit is 1000", {"label": "y" * 1001}),
            ("must be text, a number", {"label": [1, 2]}),
        ]
        for message, values in bad:
            with pytest.raises(InvalidInput, match=message):
                fan.deployments.submit_feedback(p, "churn-api", "pred-9", **values)
        with pytest.raises(InvalidInput, match="invalid prediction id"):
            fan.deployments.submit_feedback(p, "churn-api", "has space", label=1)
        with pytest.raises(NotFound, match="no deployment"):
            fan.deployments.submit_feedback(p, "nope", "pred-9", label=1)
        assert len(fan.deployments.list_feedback(p, "churn-api", limit=10)) == 4

    def test_feedback_arrives_in_batches_all_or_nothing(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        crew = _crew(contract, tmp_path, versions=1)
        p, fan, ml = crew.project, crew.fan, crew.ml
        ml.deployments.create(p, "churn-api", "churn@1")
        items = [FeedbackItem(f"b-{i}", label=i % 2) for i in range(2500)]
        items[7] = FeedbackItem("b-7", outcome=4.5, comment="late, by phone")
        batch = fan.deployments.submit_feedback_batch(p, "churn-api", items)
        assert (batch.added, batch.replaced, len(batch.sha256)) == (2500, 0, 64)
        found = {
            f.prediction_id: f for f in fan.deployments.list_feedback(p, "churn-api", limit=3000)
        }
        assert len(found) == 2500 and found["b-4"].label == 0 and found["b-5"].label == 1
        assert (found["b-7"].outcome, found["b-7"].comment, found["b-7"].who) == (
            4.5,
            "late, by phone",
            fan.user,
        )
        # one prediction already labelled: the whole batch is refused, nothing of it written
        again = [FeedbackItem("c-1", label=1), FeedbackItem("b-3", label=0)]
        with pytest.raises(Conflict, match="b-3"):
            fan.deployments.submit_feedback_batch(p, "churn-api", again)
        assert fan.deployments.list_feedback(p, "churn-api", prediction_ids=["c-1"]) == []
        redo = fan.deployments.submit_feedback_batch(p, "churn-api", again, replace=True)
        assert (redo.added, redo.replaced) == (1, 1)
        assert fan.deployments.list_feedback(p, "churn-api", prediction_ids=["b-3"])[0].label == 0
        bad: list[tuple[str, list[Any]]] = [
            ("1 to 10000 items", []),
            ("1 to 10000 items", [FeedbackItem(f"x-{i}", label=1) for i in range(10_001)]),
            ("appears twice", [FeedbackItem("d-1", label=1), FeedbackItem("d-1", label=0)]),
            (
                "item 1 .d-2.: feedback needs a label",
                [FeedbackItem("d-1", label=1), FeedbackItem("d-2")],
            ),
            ("invalid prediction id", [FeedbackItem("has space", label=1)]),
            ("not a finite number", [FeedbackItem("d-3", outcome=math.inf)]),
        ]
        for message, values in bad:
            with pytest.raises(InvalidInput, match=message):
                fan.deployments.submit_feedback_batch(p, "churn-api", values)
        with pytest.raises(PermissionDenied, match=r"feedback\.submit"):
            crew.ops.deployments.submit_feedback_batch(
                p, "churn-api", [FeedbackItem("e-1", label=1)]
            )
        elsewhere = contract.as_role(contract.new_project(), "stakeholder")
        with pytest.raises(PermissionDenied):
            elsewhere.deployments.submit_feedback_batch(
                p, "churn-api", [FeedbackItem("e-1", label=1)]
            )
        # one audit event per batch (its payload: count and digest), on the deployment itself
        events = contract.admin.audit.log(project=p, entity_kind=EntityKind.DEPLOYMENT)
        batches = [
            e.actor
            for e in events
            if e.outcome == "ok" and e.action == "feedback.submit" and e.entity_id == "churn-api"
        ]
        assert batches == [fan.user, fan.user]

    def test_traffic_counts_requests_per_arm_from_the_log(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        crew = _crew(contract, tmp_path)
        p, ops = crew.project, crew.ops
        crew.ml.deployments.create(p, "churn-api", "churn@1")
        t0 = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
        # (arm, version, minute, request, rows, latency): a request of 3 rows counts once
        answers = [("primary", 1, m, f"r{m}", 3, 2.0 + m) for m in range(1, 9)]
        answers += [("canary", 2, 4, f"c{i}", 1, 20.0) for i in range(4)]
        answers += [("primary", 1, 5, "relay-golden-1", 50, 99.0)]  # a replay: no traffic
        for seq, arm in enumerate(("primary", "canary")):
            mine = [a for a in answers if a[0] == arm]
            rows = [(a, i) for a in mine for i in range(a[4])]
            table = pa.table(
                {
                    "prediction_id": [f"{a[3]}-{i}" for a, i in rows],
                    "ts": pa.array([t0 + timedelta(minutes=a[2]) for a, _ in rows],
                                   pa.timestamp("us", tz="UTC")),
                    "arm": [a[0] for a, _ in rows],
                    "version": pa.array([a[1] for a, _ in rows], pa.int64()),
                    "request_id": [a[3] for a, _ in rows],
                    "latency_ms": [a[5] for a, _ in rows],
                }
            )  # fmt: skip
            path = tmp_path / f"{arm}.parquet"
            pq.write_table(table, path)
            ops.deployments.record_segment(
                p, "churn-api", path, uri=f"serving/{p}/churn-api/d/s-{seq}.parquet",
                records=len(rows), first_at=t0, last_at=t0 + timedelta(minutes=9),
                server_id="s",
            )  # fmt: skip
        as_of = t0 + timedelta(minutes=9, seconds=30)
        found = crew.fan.deployments.traffic(p, "churn-api", minutes=10, as_of=as_of)
        assert found.start == t0 and found.minutes == 10 and found.as_of == as_of
        assert found.per_minute == {
            "primary": (0, 1, 1, 1, 1, 1, 1, 1, 1, 0),
            "canary": (0, 0, 0, 0, 4, 0, 0, 0, 0, 0),
        }
        assert (found.requests, found.rows, found.segments, found.complete) == (12, 28, 2, True)
        primary, canary = found.arms
        assert (primary.arm, primary.version, primary.requests, primary.rows) == (
            "primary", 1, 8, 24,
        )  # fmt: skip
        assert primary.latency_ms["p50"] == 6.5 and canary.latency_ms["p99"] == 20.0
        assert crew.fan.deployments.traffic(p, "churn-api", minutes=3, as_of=as_of).requests == 2
        with pytest.raises(InvalidInput, match="minutes must be a whole number"):
            ops.deployments.traffic(p, "churn-api", minutes=0)
        with pytest.raises(InvalidInput, match="time zone"):
            ops.deployments.traffic(p, "churn-api", as_of=datetime(2025, 1, 31))
        with pytest.raises(NotFound):
            ops.deployments.traffic(p, "no-such-api")

    def test_segments_are_registered_listed_and_read_back(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        crew = _crew(contract, tmp_path, versions=1)
        p, ops = crew.project, crew.ops
        crew.ml.deployments.create(p, "churn-api", "churn@1")
        t0 = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
        prefix = f"serving/{p}/churn-api/2025-01-31"
        one = ops.deployments.record_segment(
            p,
            "churn-api",
            _segment_file(tmp_path, "a.parquet"),
            uri=f"{prefix}/srv-1-000001.parquet",
            records=3,
            first_at=t0,
            last_at=t0 + timedelta(minutes=1),
            server_id="srv-1",
        )
        two = crew.ml.deployments.record_segment(
            p,
            "churn-api",
            _segment_file(tmp_path, "b.parquet", rows=5),
            uri=f"{prefix}/srv-1-000002.parquet",
            records=5,
            first_at=t0 + timedelta(minutes=2),
            last_at=t0 + timedelta(minutes=3),
            server_id="srv-1",
        )
        assert (one.records, one.server_id, one.deployment, one.project) == (
            3,
            "srv-1",
            "churn-api",
            p,
        )
        listed = crew.fan.deployments.list_segments(p, "churn-api")
        assert [s.id for s in listed] == [one.id, two.id]
        window = crew.fan.deployments.list_segments(
            p, "churn-api", since=t0 + timedelta(minutes=2, seconds=30)
        )
        assert [s.id for s in window] == [two.id]
        early = ops.deployments.list_segments(p, "churn-api", until=t0 + timedelta(seconds=30))
        assert [s.id for s in early] == [one.id]
        got = crew.fan.deployments.download_segment(p, "churn-api", one.id, tmp_path / "got")
        assert got.read_bytes() == (tmp_path / "a.parquet").read_bytes()
        # a retry of the same file under the same uri is the same segment; other bytes are not
        retry = ops.deployments.record_segment(
            p,
            "churn-api",
            tmp_path / "a.parquet",
            uri=one.uri,
            records=3,
            first_at=one.first_at,
            last_at=one.last_at,
            server_id="srv-1",
        )
        assert retry.id == one.id
        with pytest.raises(Conflict, match="other bytes"):
            ops.deployments.record_segment(
                p,
                "churn-api",
                tmp_path / "b.parquet",
                uri=one.uri,
                records=5,
                first_at=t0,
                last_at=t0,
                server_id="srv-1",
            )
        bad: list[tuple[str, dict[str, Any]]] = [
            ("must be a Parquet file under", {"uri": f"serving/{p}/other/x.parquet"}),
            ("or empty parts", {"uri": f"{prefix}/../../x.parquet"}),
            ("positive count", {"records": 0}),
            ("time zone", {"first_at": datetime(2025, 1, 1)}),
            ("after its last_at", {"first_at": t0 + timedelta(days=1)}),
        ]
        for message, change in bad:
            kwargs: dict[str, Any] = {
                "uri": f"{prefix}/srv-2-000001.parquet",
                "records": 1,
                "first_at": t0,
                "last_at": t0,
                "server_id": "srv-2",
                **change,
            }
            with pytest.raises(InvalidInput, match=message):
                ops.deployments.record_segment(p, "churn-api", tmp_path / "a.parquet", **kwargs)
        with pytest.raises(PermissionDenied, match=r"prediction_log\.write"):
            crew.fan.deployments.record_segment(
                p,
                "churn-api",
                tmp_path / "a.parquet",
                uri=f"{prefix}/fan.parquet",
                records=1,
                first_at=t0,
                last_at=t0,
                server_id="fan",
            )
        with pytest.raises(NotFound, match="no segment"):
            ops.deployments.download_segment(p, "churn-api", "0" * 32, tmp_path / "x")
        assert len(ops.deployments.list_segments(p, "churn-api")) == 2
