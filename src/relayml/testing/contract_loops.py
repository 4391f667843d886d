"""The backend contract for loops: a loop run from its start to a promotion through a held
request and a canary, refused by governance, stopped mid-way, rolled back by its canary, and
the roles around it — the same on every backend (local+SQLite, local+PostgreSQL, http).

The pipeline is driven here through the Backend exactly as the runner drives it
(`start_run(..., trigger="loop", loop_run=ID)`, its step's output the candidate's ref); the
runner itself, with real pipelines and a real model server, is tested in tests/loops."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from relayml.client.base import Backend
from relayml.domain.audit import EntityKind
from relayml.domain.loops import CanaryEvidence, LoopState, StepKind
from relayml.domain.models import RequestState
from relayml.domain.pipelines import StepOutput, StepSpec
from relayml.errors import Conflict, InvalidInput, PermissionDenied
from relayml.testing.contract import ContractEnv
from relayml.testing.contract_models import Team, _register, _team

WIN = CanaryEvidence("accuracy", 60, 0.9, 60, 0.7, "two-proportion z", 0.001)
LOSE = CanaryEvidence("accuracy", 60, 0.6, 60, 0.7, "two-proportion z", 0.2)


@dataclass
class World:
    team: Team
    run_id: str  # the data scientist's training run
    mle: Backend  # the ML engineer who attaches the loop
    runner: Backend  # what `relay loops run` acts as (ml_engineer + mlops_engineer)
    tmp: Path

    @property
    def project(self) -> str:
        return self.team.project


def _world(contract: ContractEnv, tmp_path: Path) -> World:
    """churn@1 holds production (approved), churn-api follows it, a retrain pipeline is
    registered and the loop `retrain` is attached by the ML engineer."""
    team, run_id = _team(contract, tmp_path)
    p = team.project
    _register(team, tmp_path, "v1", run_id)
    first = team.ds.models.promote(p, "churn@1", "production", dataset="holdout@1", target="label")
    team.gov.models.approve(first.id)
    w = World(
        team,
        run_id,
        contract.as_role(p, "ml_engineer"),
        contract.as_role(p, "ml_engineer", "mlops_engineer"),
        tmp_path,
    )
    w.mle.deployments.create(p, "churn-api", "churn@production", reason="live")
    w.runner.pipelines.register(p, "retrain", module="jobs:retrain", steps=[StepSpec("register")])
    from relayml.domain.loops import LoopSpec
    from relayml.domain.monitors import AlertFamily

    spec = LoopSpec(
        pipeline="retrain", deployment="churn-api", on=(AlertFamily.DATA_DRIFT,),
        evaluate_on="holdout", target="label", canary_percent=20, min_feedback=50,
    )  # fmt: skip
    loop = w.mle.loops.attach(p, "retrain", spec)
    assert (loop.model, loop.alias, loop.created_by) == ("churn", "production", w.mle.user)
    return w


def _train(w: World, loop_run: str, ref: str) -> None:
    """The runner's pipeline run for `loop_run`, whose `register` step returns `ref`."""
    p = w.project
    run = w.runner.pipelines.start_run(
        p, "retrain", trigger="loop", loop_run=loop_run, steps=[StepSpec("register")]
    )
    w.runner.pipelines.record_step(run.id, "register", status="running", attempts=1)
    out = StepOutput("value", hashlib.sha256(json.dumps(ref).encode()).hexdigest(), ref)
    w.runner.pipelines.record_step(run.id, "register", status="finished", attempts=1, output=out)
    w.runner.pipelines.finish_run(run.id, "finished")


def _to_canary(w: World, name: str) -> str:
    """A run started by hand through training, evaluation and approval to its canary."""
    p = w.project
    run = w.mle.loops.start(p, "retrain", "tenure drifted")
    version = _register(w.team, w.tmp, name, w.run_id).version
    _train(w, run.id, f"churn@{version}")
    (waiting,) = w.runner.loops.advance(p)
    assert waiting.state is LoopState.AWAITING_APPROVAL and waiting.request is not None
    w.team.gov.models.approve(waiting.request, "evidence checked")
    (canary,) = w.runner.loops.advance(p)
    assert canary.state is LoopState.CANARY
    return canary.id


class LoopContract:
    def test_a_loop_run_goes_from_its_start_to_a_promotion(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        w = _world(contract, tmp_path)
        p, gov = w.project, w.team.gov
        run = w.mle.loops.start(p, "retrain", "tenure drifted since the pricing change")
        assert run.state is LoopState.TRIGGERED and run.started_by == w.mle.user
        with pytest.raises(Conflict, match="one run at a time"):
            w.mle.loops.start(p, "retrain", "again")
        (waiting,) = w.runner.loops.advance(p)  # waits for a runner to run its pipeline
        assert waiting.id == run.id and waiting.state is LoopState.TRIGGERED
        _register(w.team, tmp_path, "v2", w.run_id)
        _train(w, run.id, "churn@2")
        with pytest.raises(Conflict, match="started once"):  # no second pipeline run
            w.runner.pipelines.start_run(
                p, "retrain", trigger="loop", loop_run=run.id, steps=[StepSpec("register")]
            )
        (asked,) = w.runner.loops.advance(p)  # candidate, evaluation, held request
        assert asked.state is LoopState.AWAITING_APPROVAL and asked.candidate == "churn@2"
        req = gov.models.get_request(asked.request or "")
        assert req.hold == f"loop:{run.id}" and req.requester == w.mle.user
        assert any(e.name.value == "evaluation" and e.ok for e in req.evidence)
        assert [i.id for i in gov.models.inbox(p)] == [req.id]
        approved = gov.models.approve(req.id, "looks right")
        assert approved.state is RequestState.APPROVED  # held: the alias has not moved
        assert gov.models.get(p, "churn@production").version == 1
        (canary,) = w.runner.loops.advance(p)
        assert canary.state is LoopState.CANARY
        dep = w.mle.deployments.get(p, "churn-api")
        assert (dep.traffic.canary, dep.traffic.canary_percent) == ("churn@2", 20.0)
        assert w.runner.loops.decide(run.id, None).state is LoopState.CANARY  # no feedback
        few = CanaryEvidence("accuracy", 10, 0.9, 10, 0.7, "two-proportion z", 0.04)
        assert w.runner.loops.decide(run.id, few).state is LoopState.CANARY  # under 50 rows
        done = w.runner.loops.decide(run.id, WIN)
        assert done.state is LoopState.PROMOTED and done.ended_at is not None
        assert gov.models.get(p, "churn@production").version == 2
        applied = gov.models.get_request(req.id)
        assert applied.state is RequestState.APPLIED and applied.decided_by == gov.user
        dep = w.mle.deployments.get(p, "churn-api")
        assert dep.target == "churn@production" and dep.traffic.canary is None
        assert [s.kind for s in w.team.ds.loops.get_run(run.id).steps] == [
            StepKind.TRIGGERED, StepKind.PIPELINE_STARTED, StepKind.PIPELINE_FINISHED,
            StepKind.CANDIDATE, StepKind.EVALUATED, StepKind.REQUEST_OPENED,
            StepKind.APPROVED, StepKind.CANARY_STARTED, StepKind.COMPARED, StepKind.PROMOTED,
        ]  # fmt: skip
        events = contract.admin.audit.log(entity_kind=EntityKind.LOOP_RUN, entity_id=run.id)
        assert len(events) == 10  # one per step
        assert w.runner.loops.advance(p) == []
        with pytest.raises(Conflict, match="ended"):
            w.mle.loops.stop(run.id, "too late")

    def test_the_loop_stops_when_the_approval_is_refused(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        w = _world(contract, tmp_path)
        p, gov = w.project, w.team.gov
        run = w.mle.loops.start(p, "retrain", "drift")
        _register(w.team, tmp_path, "v2", w.run_id)
        _train(w, run.id, "churn@2")
        (asked,) = w.runner.loops.advance(p)
        gov.models.reject(asked.request or "", "trained on last week's outage data")
        assert w.runner.loops.advance(p) == []
        refused = w.mle.loops.get_run(run.id)
        assert refused.state is LoopState.REFUSED
        assert "outage" in refused.steps[-1].text and gov.user in refused.steps[-1].text
        assert gov.models.get(p, "churn@production").version == 1  # nothing moved
        dep = w.mle.deployments.get(p, "churn-api")
        assert dep.traffic.canary is None and dep.revision == 1

    def test_a_person_stops_a_run_and_a_losing_canary_is_rolled_back(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        w = _world(contract, tmp_path)
        p, gov = w.project, w.team.gov
        first = _to_canary(w, "v2")
        stopped = gov.loops.stop(first, "pricing change reverted; not needed")  # governance may
        assert stopped.state is LoopState.STOPPED
        assert w.mle.deployments.get(p, "churn-api").traffic.canary is None  # canary removed
        assert gov.models.get_request(stopped.request or "").state is RequestState.WITHDRAWN
        assert gov.models.get(p, "churn@production").version == 1
        second = _to_canary(w, "v3")
        lost = w.runner.loops.decide(second, LOSE)
        assert lost.state is LoopState.ROLLED_BACK
        assert "not significantly better" in lost.steps[-2].text
        dep = w.mle.deployments.get(p, "churn-api")
        assert dep.traffic.canary is None and dep.target == "churn@production"
        assert gov.models.get_request(lost.request or "").state is RequestState.WITHDRAWN
        assert gov.models.get(p, "churn@production").version == 1
        states = [r.state for r in w.team.ds.loops.list_runs(p, "retrain")]
        assert states == [LoopState.ROLLED_BACK, LoopState.STOPPED]

    def test_roles_alerts_and_detaching(self, contract: ContractEnv, tmp_path: Path) -> None:
        w = _world(contract, tmp_path)
        p = w.project
        spec = w.mle.loops.get(p, "retrain").spec
        with pytest.raises(PermissionDenied, match="loop\\.manage"):
            w.team.ds.loops.attach(p, "mine", spec)  # a data scientist cannot attach
        mlops = contract.as_role(p, "mlops_engineer")
        with pytest.raises(PermissionDenied, match="promotion\\.request"):
            mlops.loops.attach(p, "mine", spec)  # the loop would request in their name
        with pytest.raises(Conflict, match="attached"):
            w.mle.loops.attach(p, "retrain", spec)
        from dataclasses import replace

        from relayml.domain.monitors import AlertFamily

        with pytest.raises(InvalidInput, match="unknown alert family 'sunspots'"):
            w.mle.loops.attach(p, "other", replace(spec, on=("sunspots",)))  # type: ignore[arg-type]
        # one vocabulary: a loop reacts to families; an alert kind is refused naming its family
        with pytest.raises(InvalidInput, match="family 'performance'"):
            w.mle.loops.attach(
                p,
                "other",
                replace(spec, on=("estimated_performance",)),  # type: ignore[arg-type]
            )
        with pytest.raises(InvalidInput, match="family 'performance'"):
            w.runner.loops.on_alert(p, "churn-api", "realised_performance", "a-0", "auc down")
        with pytest.raises(InvalidInput, match="not something a retraining answers"):
            w.mle.loops.attach(p, "other", replace(spec, on=(AlertFamily.TRAFFIC,)))
        sam = contract.as_role(p, "stakeholder")
        assert [x.name for x in sam.loops.list_loops(p)] == ["retrain"]  # everyone reads
        started = w.runner.loops.on_alert(p, "churn-api", "data_drift", "a-1", "tenure drifted")
        assert [r.trigger for r in started] == ["alert"] and started[0].alert == "a-1"
        assert w.runner.loops.on_alert(p, "churn-api", "data_drift", "a-1", "again") == []
        assert w.runner.loops.on_alert(p, "churn-api", "data_drift", "a-2", "still") == []
        assert w.runner.loops.on_alert(p, "churn-api", "performance", "a-3", "other") == []
        with pytest.raises(PermissionDenied, match="loop\\.stop"):
            sam.loops.stop(started[0].id, "I do not like it")
        with pytest.raises(PermissionDenied, match="loop\\.run"):
            w.team.ds.loops.advance(p)
        w.mle.loops.stop(started[0].id, "false alarm")
        gone = w.mle.loops.detach(p, "retrain", "replaced by the weekly retrain")
        assert gone.detached_by == w.mle.user and not gone.attached
        with pytest.raises(Conflict, match="detached"):
            w.mle.loops.start(p, "retrain", "by hand")
        assert w.runner.loops.on_alert(p, "churn-api", "data_drift", "a-4", "drift") == []
        assert len(w.mle.loops.list_runs(p)) == 1
