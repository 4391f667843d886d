"""The backend contract for tracking: runs, params, metrics, search and their roles."""

from __future__ import annotations

import math
import secrets
import uuid

import pytest

from relayml.client.base import Backend
from relayml.domain.tracking import MetricPoint, RunStatus
from relayml.errors import (
    Conflict,
    FilterSyntaxError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from relayml.testing.contract import ContractEnv, _pts


class TrackingContract:
    def test_run_lifecycle(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        run = b.tracking.create_run(project=p, experiment="exp", name="lr", params={"C": 1.0})
        assert run.status is RunStatus.RUNNING and run.params == {"C": "1.0"}
        b.tracking.log_batch(run.id, params={"penalty": "l2"}, tags={"team": "risk"})
        b.tracking.log_batch(run.id, metrics=_pts("loss", [0.9, 0.5, 0.3]))
        done = b.tracking.end_run(run.id)
        assert done.status is RunStatus.FINISHED and done.end_time is not None
        got = b.tracking.get_run(run.id)
        assert got.params == {"C": "1.0", "penalty": "l2"}
        assert got.tags["team"] == "risk"
        assert got.metrics == {"loss": 0.3}
        assert got.experiment == "exp" and got.project == p and got.user == b.user

    def test_metric_history_is_complete_and_faithful(self, contract: ContractEnv) -> None:
        b = contract.admin
        run = b.tracking.create_run(project=contract.new_project(), experiment="e")
        values = [1.5, math.nan, math.inf, -math.inf, 0.0, -2.25]
        b.tracking.log_batch(run.id, metrics=_pts("m", values))
        hist = b.tracking.metric_history(run.id, "m")
        assert [p.step for p in hist] == list(range(6))
        got = [p.value for p in hist]
        assert math.isnan(got[1]) and got[2] == math.inf and got[3] == -math.inf
        assert [got[0], got[4], got[5]] == [1.5, 0.0, -2.25]
        assert [p.timestamp for p in hist] == [1_700_000_000_000 + i for i in range(6)]

    def test_latest_metric_is_highest_step_across_batches(self, contract: ContractEnv) -> None:
        b = contract.admin
        run = b.tracking.create_run(project=contract.new_project(), experiment="e")
        b.tracking.log_batch(run.id, metrics=_pts("acc", [0.1, 0.2], start=5))
        b.tracking.log_batch(run.id, metrics=_pts("acc", [0.9], start=0))  # late, lower step
        assert b.tracking.get_run(run.id).metrics["acc"] == 0.2

    def test_params_are_immutable(self, contract: ContractEnv) -> None:
        b = contract.admin
        run = b.tracking.create_run(project=contract.new_project(), experiment="e", params={"C": 1})
        b.tracking.log_batch(run.id, params={"C": 1})  # the same value again is fine
        with pytest.raises(Conflict, match="immutable"):
            b.tracking.log_batch(run.id, params={"C": 2})
        assert b.tracking.get_run(run.id).params == {"C": "1"}

    def test_failed_batch_writes_nothing(self, contract: ContractEnv) -> None:
        b = contract.admin
        run = b.tracking.create_run(project=contract.new_project(), experiment="e", params={"C": 1})
        with pytest.raises(Conflict):
            b.tracking.log_batch(run.id, params={"C": 2}, metrics=_pts("loss", [1.0]))
        assert b.tracking.metric_history(run.id, "loss") == []

    def test_parent_and_child_runs(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        parent = b.tracking.create_run(project=p, experiment="sweep")
        child = b.tracking.create_run(project=p, experiment="sweep", parent_id=parent.id)
        assert b.tracking.get_run(child.id).parent_id == parent.id
        page = b.tracking.search_runs(project=p, filter=f"parent_id = '{parent.id}'")
        assert [r.id for r in page.runs] == [child.id]

    def test_end_states(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        run = b.tracking.create_run(project=p, experiment="e")
        assert b.tracking.end_run(run.id, "failed").status is RunStatus.FAILED
        with pytest.raises(Conflict):
            b.tracking.end_run(run.id, "finished")
        with pytest.raises(InvalidInput):
            b.tracking.end_run(b.tracking.create_run(project=p, experiment="e").id, "paused")

    def test_unknown_and_malformed_ids(self, contract: ContractEnv) -> None:
        b = contract.admin
        with pytest.raises(NotFound):
            b.tracking.get_run(uuid.uuid4().hex)
        with pytest.raises(InvalidInput):
            b.tracking.get_run("../../etc/passwd")
        with pytest.raises(NotFound):
            b.tracking.create_run(project="no-such-project", experiment="e")

    def test_invalid_keys_are_refused(self, contract: ContractEnv) -> None:
        b = contract.admin
        run = b.tracking.create_run(project=contract.new_project(), experiment="e")
        with pytest.raises(InvalidInput):
            b.tracking.log_batch(run.id, params={"a;DROP TABLE runs": 1})
        with pytest.raises(InvalidInput):
            b.tracking.log_batch(run.id, metrics=[MetricPoint("../x", 1.0, 0, 0)])

    def test_points_the_store_cannot_hold_are_refused(self, contract: ContractEnv) -> None:
        b = contract.admin
        run = b.tracking.create_run(project=contract.new_project(), experiment="e")
        bad = [MetricPoint("x", 1.0, 2**63, 0), MetricPoint("x", 1.0, 0, -1)]
        bad += [MetricPoint("x", True, 0, 0), MetricPoint("x", 10**400, 0, 0)]
        for point in bad:
            with pytest.raises(InvalidInput):
                b.tracking.log_batch(run.id, metrics=[MetricPoint("x", 0.5, 0, 0), point])
        b.tracking.log_batch(run.id, metrics=[MetricPoint("x", 0.25, 1, 0)])
        assert [p.value for p in b.tracking.metric_history(run.id, "x")] == [0.25]

    def test_experiments_listed_with_counts(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        for exp in ("a", "a", "b"):
            b.tracking.create_run(project=p, experiment=exp)
        assert {(e.name, e.run_count) for e in b.tracking.list_experiments(p)} == {
            ("a", 2),
            ("b", 1),
        }

    # search --------------------------------------------------------------------------------
    def _grid(self, b: Backend, p: str) -> dict[str, str]:
        ids = {}
        for i, (model, c) in enumerate([("lr", "0.1"), ("lr", "1.0"), ("rf", "1.0"), ("gb", "")]):
            run = b.tracking.create_run(
                project=p, experiment="grid", name=f"{model}-{i}", params={"model": model, "C": c}
            )
            if model != "gb":
                b.tracking.log_batch(run.id, metrics=_pts("acc", [0.5 + i / 10]))
            b.tracking.log_batch(run.id, tags={"stage": "dev" if i % 2 else "prod"})
            ids[f"{model}-{i}"] = run.id
        return ids

    def test_search_filters(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        ids = self._grid(b, p)

        def names(flt: str) -> set[str]:
            return {r.name for r in b.tracking.search_runs(project=p, filter=flt).runs}

        assert names("metrics.acc > 0.55") == {"lr-1", "rf-2"}
        assert names("metrics.acc >= 0.6 AND params.model = 'lr'") == {"lr-1"}
        assert names("params.C = '1.0'") == {"lr-1", "rf-2"}
        assert names("params.model != 'lr'") == {"rf-2", "gb-3"}
        assert names("params.model IN ('rf', 'gb')") == {"rf-2", "gb-3"}
        assert names("params.model NOT IN ('rf', 'gb')") == {"lr-0", "lr-1"}
        assert names("tags.stage = 'prod'") == {"lr-0", "rf-2"}
        assert names("name LIKE 'lr-%'") == {"lr-0", "lr-1"}
        assert names("name ILIKE 'LR-%'") == {"lr-0", "lr-1"}
        assert names("metrics.acc < 0.6") == {"lr-0"}
        assert names("metrics.acc <= 0.6") == {"lr-0", "lr-1"}
        assert names("status = 'running'") == set(ids)
        assert names(f"id = '{ids['gb-3']}'") == {"gb-3"}
        assert names("metrics.missing > 0") == set()

    def test_search_order_and_pages(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        self._grid(b, p)
        ordered = b.tracking.search_runs(project=p, order_by=["metrics.acc DESC"]).runs
        assert [r.name for r in ordered] == ["rf-2", "lr-1", "lr-0", "gb-3"]  # no metric: last
        asc = b.tracking.search_runs(project=p, order_by=["metrics.acc ASC"]).runs
        assert [r.name for r in asc] == ["lr-0", "lr-1", "rf-2", "gb-3"]
        seen: list[str] = []
        token = None
        while True:
            page = b.tracking.search_runs(project=p, order_by=["name"], limit=3, page_token=token)
            seen += [r.name for r in page.runs]
            token = page.next_page_token
            if token is None:
                break
        assert seen == ["gb-3", "lr-0", "lr-1", "rf-2"]

    def test_pages_neither_repeat_nor_skip_a_run_created_meanwhile(
        self, contract: ContractEnv
    ) -> None:
        """Keyset paging, for every shape of order_by: runs created between pages (sorting
        before, among or after the ones already seen) never make a run appear twice, and every
        run that existed at the first page is seen."""
        b = contract.admin
        p = contract.new_project()
        self._grid(b, p)
        ended = b.tracking.create_run(project=p, experiment="grid", name="ended")
        b.tracking.end_run(ended.id)
        shapes: list[list[str]] = [
            [],
            ["name"],
            ["metrics.acc DESC"],
            ["metrics.acc ASC"],
            ["params.C"],
            ["tags.stage DESC", "name"],
            ["start_time ASC"],
            ["end_time DESC"],
            ["status", "metrics.acc DESC"],
            ["experiment", "user DESC"],
        ]
        made = 0
        for order in shapes:
            before = {r.id for r in b.tracking.search_runs(project=p, limit=1000).runs}
            seen: list[str] = []
            token = None
            while True:
                page = b.tracking.search_runs(project=p, order_by=order, limit=2, page_token=token)
                seen += [r.id for r in page.runs]
                token = page.next_page_token
                if token is None:
                    break
                made += 1
                new = b.tracking.create_run(project=p, experiment="grid", name=f"new-{made}")
                b.tracking.log_batch(
                    new.id, metrics=_pts("acc", [made % 3 / 2]), tags={"stage": "dev"}
                )
            assert len(seen) == len(set(seen)), f"a run repeated with order_by={order}"
            assert before <= set(seen), f"a run was skipped with order_by={order}"
        with pytest.raises(InvalidInput, match="another order_by"):
            first = b.tracking.search_runs(project=p, order_by=["name"], limit=1)
            b.tracking.search_runs(project=p, order_by=["user"], page_token=first.next_page_token)

    def test_search_filter_and_order_together(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        self._grid(b, p)

        def names(flt: str, order: list[str]) -> list[str]:
            return [
                r.name for r in b.tracking.search_runs(project=p, filter=flt, order_by=order).runs
            ]

        # ordering by the key the filter is on, and by another
        assert names("metrics.acc > 0.55", ["metrics.acc ASC"]) == ["lr-1", "rf-2"]
        assert names("params.C = '1.0'", ["metrics.acc DESC"]) == ["rf-2", "lr-1"]
        assert names("tags.stage = 'prod'", ["params.model"]) == ["lr-0", "rf-2"]
        # one shape, other values: each search answers its own question
        assert names("params.model IN ('rf')", ["name"]) == ["rf-2"]
        assert names("params.model IN ('gb', 'lr', 'x')", ["name"]) == ["gb-3", "lr-0", "lr-1"]
        assert names("metrics.acc > 0.65", ["name"]) == ["rf-2"]

    def test_search_by_time(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        runs = [b.tracking.create_run(project=p, experiment="t", name=f"r{i}") for i in range(3)]
        b.tracking.end_run(runs[0].id)

        def names(flt: str) -> list[str]:
            return sorted(r.name for r in b.tracking.search_runs(project=p, filter=flt).runs)

        second = runs[1].start_time.isoformat()
        assert names(f"start_time >= '{second}'") == ["r1", "r2"]
        assert names(f"start_time < '{second}'") == ["r0"]
        assert names("start_time > 0") == ["r0", "r1", "r2"]  # milliseconds since the epoch
        assert names("end_time > '2000-01-01'") == ["r0"]  # runs still going have none

    def test_long_values_are_kept_and_searchable(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        long_param, long_tag = secrets.token_hex(3000), secrets.token_hex(4000)  # the limits
        run = b.tracking.create_run(project=p, experiment="e", params={"blob": long_param})
        b.tracking.log_batch(run.id, tags={"notes": long_tag})
        got = b.tracking.get_run(run.id)
        assert got.params["blob"] == long_param and got.tags["notes"] == long_tag
        found = b.tracking.search_runs(project=p, filter=f"params.blob = '{long_param}'").runs
        assert [r.id for r in found] == [run.id]
        assert (
            b.tracking.search_runs(project=p, filter=f"tags.notes = '{long_tag}'").runs[0].id
            == run.id
        )

    def test_latest_metrics_keep_nan_and_infinities(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        run = b.tracking.create_run(project=p, experiment="e")
        b.tracking.log_batch(
            run.id, metrics=_pts("up", [1.0, math.inf]) + _pts("down", [-math.inf])
        )
        b.tracking.log_batch(run.id, metrics=_pts("gone", [0.5, math.nan]) + _pts("x", [0.1 + 0.2]))
        for got in (b.tracking.get_run(run.id), b.tracking.search_runs(project=p).runs[0]):
            assert got.metrics["up"] == math.inf and got.metrics["down"] == -math.inf
            assert math.isnan(got.metrics["gone"]) and got.metrics["x"] == 0.1 + 0.2
        assert [
            r.id for r in b.tracking.search_runs(project=p, filter="metrics.up > 1e308").runs
        ] == [run.id]

    def test_search_values_are_never_sql(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        self._grid(b, p)
        evil = "x' OR '1'='1"
        assert b.tracking.search_runs(project=p, filter=f'params.model = "{evil}"').runs == []
        assert len(b.tracking.search_runs(project=p).runs) == 4

    def test_malformed_filter_points_at_position(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        with pytest.raises(FilterSyntaxError) as err:
            b.tracking.search_runs(project=p, filter="metrics.acc > ")
        assert "position 14" in str(err.value)
        with pytest.raises(InvalidInput):
            b.tracking.search_runs(project=p, filter="metrics.acc > 1 OR params.C = '1'")
        with pytest.raises(InvalidInput):
            b.tracking.search_runs(project=p, page_token="not-a-token")  # noqa: S106

    def test_stakeholder_reads_but_cannot_create_runs(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        run = contract.admin.tracking.create_run(project=p, experiment="e")
        viewer = contract.as_role(p, "stakeholder")
        assert viewer.tracking.get_run(run.id).id == run.id
        assert [r.id for r in viewer.tracking.search_runs(project=p).runs] == [run.id]
        with pytest.raises(PermissionDenied, match=r"run\.create"):
            viewer.tracking.create_run(project=p, experiment="e")
        with pytest.raises(PermissionDenied):
            viewer.tracking.log_batch(run.id, metrics=_pts("x", [1.0]))
        denied = contract.admin.audit.log(project=p, actor=viewer.user, limit=10)
        assert {(e.action, e.outcome) for e in denied} == {
            ("run.create", "denied"),
            ("run.update", "denied"),
        }

    def test_roles_are_per_project(self, contract: ContractEnv) -> None:
        p1, p2 = contract.new_project(), contract.new_project()
        ds = contract.as_role(p1, "data_scientist")
        ds.tracking.create_run(project=p1, experiment="e")
        with pytest.raises(PermissionDenied):
            ds.tracking.create_run(project=p2, experiment="e")
        contract.admin.identity.grant(ds.user, "data_scientist", p2)
        ds.tracking.create_run(project=p2, experiment="e")
        contract.admin.identity.revoke(ds.user, "data_scientist", p2)
        with pytest.raises(PermissionDenied):
            ds.tracking.create_run(project=p2, experiment="e")
