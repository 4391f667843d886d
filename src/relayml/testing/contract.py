"""The backend contract: behaviour every Backend (local+SQLite, local+PostgreSQL, http) must show.

Subclass `BackendContract` and provide a `contract` fixture yielding a `ContractEnv`
(tests/test_contract.py does so for each backend), as Dagster does for its storages.
"""

from __future__ import annotations

import math
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from relayml.client.base import Backend
from relayml.domain.audit import EntityKind, Event
from relayml.domain.tracking import MetricPoint, RunStatus
from relayml.errors import (
    Conflict,
    FilterSyntaxError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)


@dataclass
class ContractEnv:
    kind: str
    admin: Backend
    connect: Callable[[str], Backend]
    opened: list[Backend] = field(default_factory=list)

    def new_project(self) -> str:
        name = f"p-{uuid.uuid4().hex[:10]}"
        self.admin.create_project(name)
        return name

    def as_role(self, project: str, *roles: str) -> Backend:
        issued = self.admin.create_user(f"u-{uuid.uuid4().hex[:10]}", list(roles), project)
        backend = self.connect(issued.token)
        self.opened.append(backend)
        return backend


def _pts(key: str, values: list[float], start: int = 0) -> list[MetricPoint]:
    return [MetricPoint(key, v, start + i, 1_700_000_000_000 + i) for i, v in enumerate(values)]


class BackendContract:
    # runs ----------------------------------------------------------------------------------
    def test_run_lifecycle(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        run = b.create_run(project=p, experiment="exp", name="lr", params={"C": 1.0})
        assert run.status is RunStatus.RUNNING and run.params == {"C": "1.0"}
        b.log_batch(run.id, params={"penalty": "l2"}, tags={"team": "risk"})
        b.log_batch(run.id, metrics=_pts("loss", [0.9, 0.5, 0.3]))
        done = b.end_run(run.id)
        assert done.status is RunStatus.FINISHED and done.end_time is not None
        got = b.get_run(run.id)
        assert got.params == {"C": "1.0", "penalty": "l2"}
        assert got.tags["team"] == "risk"
        assert got.metrics == {"loss": 0.3}
        assert got.experiment == "exp" and got.project == p and got.user == b.user

    def test_metric_history_is_complete_and_faithful(self, contract: ContractEnv) -> None:
        b = contract.admin
        run = b.create_run(project=contract.new_project(), experiment="e")
        values = [1.5, math.nan, math.inf, -math.inf, 0.0, -2.25]
        b.log_batch(run.id, metrics=_pts("m", values))
        hist = b.metric_history(run.id, "m")
        assert [p.step for p in hist] == list(range(6))
        got = [p.value for p in hist]
        assert math.isnan(got[1]) and got[2] == math.inf and got[3] == -math.inf
        assert [got[0], got[4], got[5]] == [1.5, 0.0, -2.25]
        assert [p.timestamp for p in hist] == [1_700_000_000_000 + i for i in range(6)]

    def test_latest_metric_is_highest_step_across_batches(self, contract: ContractEnv) -> None:
        b = contract.admin
        run = b.create_run(project=contract.new_project(), experiment="e")
        b.log_batch(run.id, metrics=_pts("acc", [0.1, 0.2], start=5))
        b.log_batch(run.id, metrics=_pts("acc", [0.9], start=0))  # late, lower step
        assert b.get_run(run.id).metrics["acc"] == 0.2

    def test_params_are_immutable(self, contract: ContractEnv) -> None:
        b = contract.admin
        run = b.create_run(project=contract.new_project(), experiment="e", params={"C": 1})
        b.log_batch(run.id, params={"C": 1})  # the same value again is fine
        with pytest.raises(Conflict, match="immutable"):
            b.log_batch(run.id, params={"C": 2})
        assert b.get_run(run.id).params == {"C": "1"}

    def test_failed_batch_writes_nothing(self, contract: ContractEnv) -> None:
        b = contract.admin
        run = b.create_run(project=contract.new_project(), experiment="e", params={"C": 1})
        with pytest.raises(Conflict):
            b.log_batch(run.id, params={"C": 2}, metrics=_pts("loss", [1.0]))
        assert b.metric_history(run.id, "loss") == []

    def test_parent_and_child_runs(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        parent = b.create_run(project=p, experiment="sweep")
        child = b.create_run(project=p, experiment="sweep", parent_id=parent.id)
        assert b.get_run(child.id).parent_id == parent.id
        page = b.search_runs(project=p, filter=f"parent_id = '{parent.id}'")
        assert [r.id for r in page.runs] == [child.id]

    def test_end_states(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        run = b.create_run(project=p, experiment="e")
        assert b.end_run(run.id, "failed").status is RunStatus.FAILED
        with pytest.raises(Conflict):
            b.end_run(run.id, "finished")
        with pytest.raises(InvalidInput):
            b.end_run(b.create_run(project=p, experiment="e").id, "paused")

    def test_unknown_and_malformed_ids(self, contract: ContractEnv) -> None:
        b = contract.admin
        with pytest.raises(NotFound):
            b.get_run(uuid.uuid4().hex)
        with pytest.raises(InvalidInput):
            b.get_run("../../etc/passwd")
        with pytest.raises(NotFound):
            b.create_run(project="no-such-project", experiment="e")

    def test_invalid_keys_are_refused(self, contract: ContractEnv) -> None:
        b = contract.admin
        run = b.create_run(project=contract.new_project(), experiment="e")
        with pytest.raises(InvalidInput):
            b.log_batch(run.id, params={"a;DROP TABLE runs": 1})
        with pytest.raises(InvalidInput):
            b.log_batch(run.id, metrics=[MetricPoint("../x", 1.0, 0, 0)])

    def test_points_the_store_cannot_hold_are_refused(self, contract: ContractEnv) -> None:
        b = contract.admin
        run = b.create_run(project=contract.new_project(), experiment="e")
        bad = [MetricPoint("x", 1.0, 2**63, 0), MetricPoint("x", 1.0, 0, -1)]
        bad += [MetricPoint("x", True, 0, 0), MetricPoint("x", 10**400, 0, 0)]
        for point in bad:
            with pytest.raises(InvalidInput):
                b.log_batch(run.id, metrics=[MetricPoint("x", 0.5, 0, 0), point])
        b.log_batch(run.id, metrics=[MetricPoint("x", 0.25, 1, 0)])
        assert [p.value for p in b.metric_history(run.id, "x")] == [0.25]

    def test_projects(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        assert b.ensure_project(p).name == p  # existing: returned as is
        with pytest.raises(Conflict):
            b.create_project(p)
        q = f"{p}-new"
        assert b.ensure_project(q).created_by == b.user  # an admin's first use creates it
        assert {p, q} <= {pr.name for pr in b.list_projects()}
        ds = contract.as_role(p, "data_scientist")
        assert ds.ensure_project(p).name == p
        # a missing project is "no project", as for every project call (require_in_project),
        # not a permission problem; one that exists but is not theirs is refused
        with pytest.raises(NotFound, match="no project"):
            ds.ensure_project(f"{p}-other")
        with pytest.raises(PermissionDenied):
            ds.ensure_project(q)
        with pytest.raises(InvalidInput):
            b.create_project("bad name!")

    def test_experiments_listed_with_counts(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        for exp in ("a", "a", "b"):
            b.create_run(project=p, experiment=exp)
        assert {(e.name, e.run_count) for e in b.list_experiments(p)} == {("a", 2), ("b", 1)}

    # search --------------------------------------------------------------------------------
    def _grid(self, b: Backend, p: str) -> dict[str, str]:
        ids = {}
        for i, (model, c) in enumerate([("lr", "0.1"), ("lr", "1.0"), ("rf", "1.0"), ("gb", "")]):
            run = b.create_run(
                project=p, experiment="grid", name=f"{model}-{i}", params={"model": model, "C": c}
            )
            if model != "gb":
                b.log_batch(run.id, metrics=_pts("acc", [0.5 + i / 10]))
            b.log_batch(run.id, tags={"stage": "dev" if i % 2 else "prod"})
            ids[f"{model}-{i}"] = run.id
        return ids

    def test_search_filters(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        ids = self._grid(b, p)

        def names(flt: str) -> set[str]:
            return {r.name for r in b.search_runs(project=p, filter=flt).runs}

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
        ordered = b.search_runs(project=p, order_by=["metrics.acc DESC"]).runs
        assert [r.name for r in ordered] == ["rf-2", "lr-1", "lr-0", "gb-3"]  # no metric: last
        asc = b.search_runs(project=p, order_by=["metrics.acc ASC"]).runs
        assert [r.name for r in asc] == ["lr-0", "lr-1", "rf-2", "gb-3"]
        seen: list[str] = []
        token = None
        while True:
            page = b.search_runs(project=p, order_by=["name"], limit=3, page_token=token)
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
        ended = b.create_run(project=p, experiment="grid", name="ended")
        b.end_run(ended.id)
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
            before = {r.id for r in b.search_runs(project=p, limit=1000).runs}
            seen: list[str] = []
            token = None
            while True:
                page = b.search_runs(project=p, order_by=order, limit=2, page_token=token)
                seen += [r.id for r in page.runs]
                token = page.next_page_token
                if token is None:
                    break
                made += 1
                new = b.create_run(project=p, experiment="grid", name=f"new-{made}")
                b.log_batch(new.id, metrics=_pts("acc", [made % 3 / 2]), tags={"stage": "dev"})
            assert len(seen) == len(set(seen)), f"a run repeated with order_by={order}"
            assert before <= set(seen), f"a run was skipped with order_by={order}"
        with pytest.raises(InvalidInput, match="another order_by"):
            first = b.search_runs(project=p, order_by=["name"], limit=1)
            b.search_runs(project=p, order_by=["user"], page_token=first.next_page_token)

    def test_search_filter_and_order_together(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        self._grid(b, p)

        def names(flt: str, order: list[str]) -> list[str]:
            return [r.name for r in b.search_runs(project=p, filter=flt, order_by=order).runs]

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
        runs = [b.create_run(project=p, experiment="t", name=f"r{i}") for i in range(3)]
        b.end_run(runs[0].id)

        def names(flt: str) -> list[str]:
            return sorted(r.name for r in b.search_runs(project=p, filter=flt).runs)

        second = runs[1].start_time.isoformat()
        assert names(f"start_time >= '{second}'") == ["r1", "r2"]
        assert names(f"start_time < '{second}'") == ["r0"]
        assert names("start_time > 0") == ["r0", "r1", "r2"]  # milliseconds since the epoch
        assert names("end_time > '2000-01-01'") == ["r0"]  # runs still going have none

    def test_long_values_are_kept_and_searchable(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        long_param, long_tag = secrets.token_hex(3000), secrets.token_hex(4000)  # the limits
        run = b.create_run(project=p, experiment="e", params={"blob": long_param})
        b.log_batch(run.id, tags={"notes": long_tag})
        got = b.get_run(run.id)
        assert got.params["blob"] == long_param and got.tags["notes"] == long_tag
        found = b.search_runs(project=p, filter=f"params.blob = '{long_param}'").runs
        assert [r.id for r in found] == [run.id]
        assert b.search_runs(project=p, filter=f"tags.notes = '{long_tag}'").runs[0].id == run.id

    def test_latest_metrics_keep_nan_and_infinities(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        run = b.create_run(project=p, experiment="e")
        b.log_batch(run.id, metrics=_pts("up", [1.0, math.inf]) + _pts("down", [-math.inf]))
        b.log_batch(run.id, metrics=_pts("gone", [0.5, math.nan]) + _pts("x", [0.1 + 0.2]))
        for got in (b.get_run(run.id), b.search_runs(project=p).runs[0]):
            assert got.metrics["up"] == math.inf and got.metrics["down"] == -math.inf
            assert math.isnan(got.metrics["gone"]) and got.metrics["x"] == 0.1 + 0.2
        assert [r.id for r in b.search_runs(project=p, filter="metrics.up > 1e308").runs] == [
            run.id
        ]

    def test_search_values_are_never_sql(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        self._grid(b, p)
        evil = "x' OR '1'='1"
        assert b.search_runs(project=p, filter=f'params.model = "{evil}"').runs == []
        assert len(b.search_runs(project=p).runs) == 4

    def test_malformed_filter_points_at_position(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        with pytest.raises(FilterSyntaxError) as err:
            b.search_runs(project=p, filter="metrics.acc > ")
        assert "position 14" in str(err.value)
        with pytest.raises(InvalidInput):
            b.search_runs(project=p, filter="metrics.acc > 1 OR params.C = '1'")
        with pytest.raises(InvalidInput):
            b.search_runs(project=p, page_token="not-a-token")  # noqa: S106

    # artifacts -----------------------------------------------------------------------------
    def test_artifacts_round_trip(self, contract: ContractEnv, tmp_path: Path) -> None:
        b = contract.admin
        run = b.create_run(project=contract.new_project(), experiment="e")
        src = tmp_path / "report.html"
        src.write_bytes(b"<h1>ok</h1>" * 1000)
        info = b.log_artifact(run.id, "reports/report.html", src)
        assert info.size == src.stat().st_size and len(info.digest) == 64
        assert [a.path for a in b.list_artifacts(run.id)] == ["reports/report.html"]
        assert b.list_artifacts(run.id, "reports") == [info]
        out = b.download_artifact(run.id, "reports/report.html", tmp_path / "dl" / "r.html")
        assert out.read_bytes() == src.read_bytes()
        with pytest.raises(NotFound):
            b.download_artifact(run.id, "reports/missing.html", tmp_path / "x")

    def test_artifact_paths_cannot_escape(self, contract: ContractEnv, tmp_path: Path) -> None:
        b = contract.admin
        run = b.create_run(project=contract.new_project(), experiment="e")
        src = tmp_path / "f.txt"
        src.write_text("x")
        for bad in ("../escape.txt", "/etc/passwd", "a/../../b", "a\x00b", "..\\x", "a//b"):
            with pytest.raises(InvalidInput):
                b.log_artifact(run.id, bad, src)
        assert b.list_artifacts(run.id) == []

    # identity & permissions ----------------------------------------------------------------
    def test_stakeholder_reads_but_cannot_create_runs(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        run = contract.admin.create_run(project=p, experiment="e")
        viewer = contract.as_role(p, "stakeholder")
        assert viewer.get_run(run.id).id == run.id
        assert [r.id for r in viewer.search_runs(project=p).runs] == [run.id]
        with pytest.raises(PermissionDenied, match=r"run\.create"):
            viewer.create_run(project=p, experiment="e")
        with pytest.raises(PermissionDenied):
            viewer.log_batch(run.id, metrics=_pts("x", [1.0]))
        denied = contract.admin.audit_log(project=p, actor=viewer.user, limit=10)
        assert {(e.action, e.outcome) for e in denied} == {
            ("run.create", "denied"),
            ("run.update", "denied"),
        }

    def test_roles_are_per_project(self, contract: ContractEnv) -> None:
        p1, p2 = contract.new_project(), contract.new_project()
        ds = contract.as_role(p1, "data_scientist")
        ds.create_run(project=p1, experiment="e")
        with pytest.raises(PermissionDenied):
            ds.create_run(project=p2, experiment="e")
        contract.admin.grant(ds.user, "data_scientist", p2)
        ds.create_run(project=p2, experiment="e")
        contract.admin.revoke(ds.user, "data_scientist", p2)
        with pytest.raises(PermissionDenied):
            ds.create_run(project=p2, experiment="e")

    def test_only_admins_manage_users(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        ds = contract.as_role(p, "data_scientist", "model_governance")
        with pytest.raises(PermissionDenied):
            ds.create_user("mallory", ["admin"], p)
        with pytest.raises(PermissionDenied):
            ds.grant(ds.user, "admin", p)
        names = {u.name for u in contract.admin.list_users(p)}
        assert ds.user in names and "mallory" not in names
        with pytest.raises(Conflict):
            contract.admin.create_user(ds.user, ["stakeholder"], p)

    def test_audit_is_read_by_governance_only(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        gov = contract.as_role(p, "model_governance")
        ds = contract.as_role(p, "data_scientist")
        assert gov.audit_log(project=p, limit=5)
        with pytest.raises(PermissionDenied):
            ds.audit_log(project=p)
        with pytest.raises(PermissionDenied):
            ds.audit_verify()

    def test_tokens(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        ds = contract.as_role(p, "data_scientist")
        me = ds.whoami()
        assert me["user"] == ds.user and me["grants"] == {p: ["data_scientist"]}
        fresh = ds.issue_token(ds.user)
        again = contract.connect(fresh.token)
        contract.opened.append(again)
        assert again.user == ds.user
        with pytest.raises(PermissionDenied):
            ds.issue_token(contract.admin.user)
        with pytest.raises(Unauthenticated):
            contract.connect("rly_" + "x" * 43)
        assert p in {pr.name for pr in ds.list_projects()}

    # audit ---------------------------------------------------------------------------------
    def test_every_mutation_is_audited(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        run = b.create_run(project=p, experiment="e", params={"a": 1})
        b.log_batch(run.id, metrics=_pts("m", [1.0, 2.0]))
        b.end_run(run.id)
        events = b.audit_log(entity_kind="run", entity_id=run.id)
        assert [e.action for e in events] == ["run.end", "run.log", "run.create"]
        assert all(e.actor == b.user and e.outcome == "ok" and e.project == p for e in events)
        assert all("admin" in e.roles for e in events)
        result = b.audit_verify()
        assert result.ok and result.checked >= 3

    def test_audit_filters_are_closed_vocabularies(self, contract: ContractEnv) -> None:
        """An unknown action or entity kind is an error listing the valid ones: a typo
        must not read as "nothing happened"."""
        b = contract.admin
        with pytest.raises(InvalidInput, match=r"unknown audit action 'run\.created'; use one "):
            b.audit_log(action="run.created")
        with pytest.raises(InvalidInput, match=r"use one of: .*pipeline\.finish.*run\.create"):
            b.audit_log(action="run.created")
        with pytest.raises(InvalidInput, match=r"unknown entity kind 'runs'; use one of: project"):
            b.audit_log(entity_kind="runs")
        assert b.audit_log(action=Event.RUN_END, entity_kind=EntityKind.RUN, limit=1) == (
            b.audit_log(action="run.end", entity_kind="run", limit=1)
        )

    def test_gc_is_a_dry_run_by_default_and_for_admins_only(self, contract: ContractEnv) -> None:
        p = contract.new_project()
        report = contract.admin.storage_gc(grace="24h")
        assert not report.applied and report.grace_seconds == 24 * 3600
        assert all(item.age_seconds >= 24 * 3600 for item in report.leftovers)
        with pytest.raises(PermissionDenied, match=r"storage\.gc"):
            contract.as_role(p, "data_engineer").storage_gc()

    def test_checkpoints_are_taken_by_admins_and_verified(self, contract: ContractEnv) -> None:
        b = contract.admin
        p = contract.new_project()
        cp = b.audit_checkpoint()
        assert cp.seq >= 1 and len(cp.hash) == 64 and cp.mac
        recorded = b.audit_log(action="audit.checkpoint", limit=50)
        assert str(cp.seq) in {e.entity_id for e in recorded}
        result = b.audit_verify()
        assert result.ok and result.checkpoints >= 1, result
        gov = contract.as_role(p, "model_governance")
        with pytest.raises(PermissionDenied, match=r"audit\.checkpoint"):
            gov.audit_checkpoint()
