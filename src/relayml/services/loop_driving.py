"""Driving a loop's runs: `advance` (what a runner calls every tick) moves each run under way
one transition at a time as far as Relay can by itself (a finished pipeline gives the
candidate, the candidate's promotion request is opened with its evidence, a review's outcome
starts the canary or ends the run, a canary past its timeout is decided), and
`claim_pipeline` starts a waiting run's pipeline for `PipelineService.start_run`."""

from __future__ import annotations

import logging
from typing import Any

from relayml.domain.audit import EntityKind, Event
from relayml.domain.identity import Principal
from relayml.domain.loops import (
    HELD_PREFIX,
    Loop,
    LoopRun,
    LoopState,
    LoopStep,
    StepKind,
    advance_to,
    check_run_id,
    note,
)
from relayml.domain.models import Evidence, RequestState
from relayml.domain.refs import parse_ref
from relayml.domain.roles import Action
from relayml.domain.tracking import RunStatus
from relayml.errors import Conflict, InvalidInput, NotFound, RelayError
from relayml.services.base import ServiceBase, utcnow
from relayml.services.loop_base import MAX_RUNS
from relayml.services.loop_canary import CanaryMixin
from relayml.services.notifications import Pending
from relayml.store.base import Transaction

log = logging.getLogger(__name__)
MAX_PIPELINE_ATTEMPTS = 2  # a pipeline run abandoned by its runner is started once more


class DrivingMixin(CanaryMixin):
    def advance(self, who: Principal, project: str) -> list[LoopRun]:
        """Move every run of the project under way as far as Relay can by itself: a finished
        pipeline gives the candidate, the candidate's request is opened with its evidence, an
        approval starts the canary, a rejection ends the run, a canary past its timeout is
        rolled back, a pipeline run silent past its timeout is abandoned (and started again
        once). Returns the runs still under way: those `triggered` wait for the caller to run
        their pipeline, those in `canary` for `decide`."""
        with self.read() as tx:
            self.require_in_project(tx, who, Action.LOOP_RUN, project, EntityKind.PROJECT, project)
            runs = tx.loops.list_runs(project, None, True, MAX_RUNS)
        for run in runs:
            # as far as it goes: a finished pipeline's candidate is evaluated in the same tick
            for _ in range(len(LoopState)):
                try:
                    moved = self._advance(who, run)
                except RelayError as exc:  # one run's trouble does not stop the others
                    log.warning("loop run %s did not advance: %s", run.id, exc)
                    break
                if moved.revision == run.revision or moved.ended:
                    break
                run = moved
        with self.read() as tx:
            return tx.loops.list_runs(project, None, True, MAX_RUNS)

    def _advance(self, who: Principal, run: LoopRun) -> LoopRun:
        """One transition of `run`, if one is due; the run as it is after."""
        if run.state is LoopState.TRAINING:
            return self._transition(who, run, self._after_training)
        if run.state is LoopState.EVALUATING:
            return self._evaluate(who, run)
        if run.state is LoopState.AWAITING_APPROVAL:
            return self._transition(who, run, self._after_review)
        if run.state is LoopState.CANARY:
            return self._decide(who, run, None)
        return run

    def _after_training(
        self, tx: Transaction, who: Principal, loop: Loop, run: LoopRun
    ) -> tuple[LoopRun, list[Pending]]:
        assert run.pipeline_run is not None
        prun = tx.pipelines.get_run(run.pipeline_run)
        if prun is None:
            raise NotFound(f"pipeline run {run.pipeline_run} is gone")
        at = utcnow()
        if prun.status is RunStatus.RUNNING:
            silent = (at - prun.started_at).total_seconds()
            if silent < loop.spec.pipeline_seconds:
                return run, []
            error = (
                f"abandoned by loop run {run.id}: no end after {silent:.0f} s "
                f"(pipeline_timeout {loop.spec.pipeline_seconds:.0f} s); its runner died or hung"
            )
            tx.pipelines.finish_run(prun.id, RunStatus.FAILED, error, at)
            roles = self.roles(tx, who.user, run.project)
            self.record(
                tx, who, roles, Event.PIPELINE_FINISH, run.project, EntityKind.PIPELINE_RUN,
                prun.id, {"status": "failed", "error": error},
            )  # fmt: skip
            if run.attempts >= MAX_PIPELINE_ATTEMPTS:
                raise Conflict(f"pipeline run {prun.id} {error}; {run.attempts} attempts made")
            step = LoopStep(
                StepKind.PIPELINE_ABANDONED, at, who.user,
                f"pipeline run {prun.id} {error}; starting it again",
                {"pipeline_run": prun.id},
            )  # fmt: skip
            return advance_to(run, LoopState.TRIGGERED, step, pipeline_run=None), []
        if prun.status is RunStatus.KILLED:  # its runner stopped it (docs/loops.md)
            step = LoopStep(
                StepKind.PIPELINE_ABANDONED, at, who.user,
                f"pipeline run {prun.id} was stopped with its runner; starting it again",
                {"pipeline_run": prun.id},
            )  # fmt: skip
            return advance_to(run, LoopState.TRIGGERED, step, pipeline_run=None), []
        if prun.status is not RunStatus.FINISHED:
            raise Conflict(f"pipeline run {prun.id} {prun.status.value}: {prun.error}")
        finished = LoopStep(
            StepKind.PIPELINE_FINISHED, at, who.user,
            f"pipeline {prun.pipeline} run {prun.id} finished",
            {"pipeline_run": prun.id},
        )  # fmt: skip
        output = prun.step(loop.spec.candidate_step).output
        value = output.value if output is not None and output.kind == "value" else None
        if not isinstance(value, str):
            raise Conflict(
                f"step {loop.spec.candidate_step!r} of pipeline run {prun.id} returned "
                f"{value!r:.80}, not the ref of the model it registered (e.g. "
                f"{loop.model}@7): return mv.ref from it"
            )
        candidate = self.moves.pinned(loop, value)
        ref = parse_ref(candidate, kind="model", aliases=True)
        if tx.models.find_version(run.project, loop.model, ref.version, None) is None:
            raise NotFound(f"the candidate {candidate} is not registered")
        step = LoopStep(
            StepKind.CANDIDATE, at, who.user, f"candidate {candidate}", {"candidate": candidate}
        )
        run = advance_to(run, LoopState.EVALUATING, finished, candidate=candidate)
        return note(run, step), []

    def _evaluate(self, who: Principal, run: LoopRun) -> LoopRun:
        """Evaluate the candidate against the alias's holder on the evaluation data (its
        newest usable version) and open the held promotion request with that evidence: the
        evidence is computed first, outside any transaction; the request and the run's new
        state are then written together."""
        with self.read() as tx:
            loop = self._loop(tx, run.project, run.loop)
            owner, _ = self.moves.owner(tx, loop)
            dataset = None
            if loop.spec.evaluate_on is not None:
                r = parse_ref(loop.spec.evaluate_on)
                found = tx.datasets.find_version(run.project, r.name, r.version, False)
                if found is None:
                    return self._fail(
                        who, run, f"no usable version of dataset {r.name!r} to evaluate on"
                    )
                dataset = found[1].ref
        assert run.candidate is not None
        try:
            draft = self.models._draft_request(
                owner, run.project, run.candidate, loop.alias,
                f"loop {loop.name} run {run.id}: {run.reason}", dataset, loop.spec.target,
                hold=f"{HELD_PREFIX}{run.id}",
            )  # fmt: skip
        except RelayError as exc:
            return self._fail(who, run, f"could not open the promotion request: {exc.message}")
        request = draft.request

        def open_it(
            tx: Transaction, who: Principal, loop: Loop, run: LoopRun
        ) -> tuple[LoopRun, list[Pending]]:
            pending = self.models._open_request(tx, owner, draft)
            at = utcnow()
            evaluated = LoopStep(StepKind.EVALUATED, at, who.user, *_evaluation(request))
            opened = LoopStep(
                StepKind.REQUEST_OPENED, at, who.user,
                f"promotion request {request.id}: {request.ref} to {request.alias}, "
                f"in {owner.user}'s name",
                {"request": request.id, "failed": [e.name.value for e in request.failed_evidence]},
            )  # fmt: skip
            new = advance_to(run, LoopState.AWAITING_APPROVAL, evaluated, request=request.id)
            new = note(new, opened)
            rule = self.models._policy(tx, run.project).rule(loop.alias)
            failed = ", ".join(e.name.value for e in request.failed_evidence)
            if failed and rule is not None and not rule.allow_override:
                why = (
                    f"required evidence failed ({failed}) and the policy allows no override: "
                    "governance could not approve it"
                )
                pending += self.moves.undo(tx, loop, new, why)
                new = advance_to(
                    new, LoopState.FAILED, LoopStep(StepKind.FAILED, at, who.user, why)
                )
            return new, pending

        return self._transition(who, run, open_it)

    def _after_review(
        self, tx: Transaction, who: Principal, loop: Loop, run: LoopRun
    ) -> tuple[LoopRun, list[Pending]]:
        assert run.request is not None
        found = tx.models.get_request(run.request)
        if found is None:
            raise NotFound(f"promotion request {run.request} is gone")
        req = found[2]
        at = utcnow()
        last = req.reviews[-1] if req.reviews else None
        said = f": {last.text}" if last is not None and last.text else ""
        if req.state is RequestState.OPEN:
            return run, []
        if req.state is RequestState.REJECTED:
            step = LoopStep(
                StepKind.REJECTED, at, who.user,
                f"request {req.id} rejected by {req.decided_by}{said}; nothing moved",
                {"request": req.id, "by": req.decided_by},
            )  # fmt: skip
            return advance_to(run, LoopState.REFUSED, step), []
        if req.state is RequestState.WITHDRAWN:
            step = LoopStep(
                StepKind.STOPPED, at, who.user,
                f"request {req.id} withdrawn by {req.decided_by}{said}; nothing moved",
                {"request": req.id, "by": req.decided_by},
            )  # fmt: skip
            return advance_to(run, LoopState.STOPPED, step), []
        if req.state is not RequestState.APPROVED:
            raise Conflict(f"request {req.id} is {req.state.value}; the loop expected approved")
        why = self.moves.owner_may(tx, loop, Action.DEPLOYMENT_CREATE)
        if why is not None:
            raise Conflict(why)
        approvers = sorted({r.user for r in req.approvals})
        approved = LoopStep(
            StepKind.APPROVED, at, who.user,
            f"request {req.id} approved by {', '.join(approvers)}",
            {"request": req.id, "approvers": approvers},
        )  # fmt: skip
        dep, pending = self.moves.start_canary(tx, loop, run, loop.spec.canary_percent)
        started = LoopStep(
            StepKind.CANARY_STARTED, at, who.user,
            f"canary {run.candidate} at {loop.spec.canary_percent:g}% of {dep.name}'s traffic",
            {"deployment": dep.name, "percent": loop.spec.canary_percent,
             "revision": dep.revision},
        )  # fmt: skip
        new = advance_to(run, LoopState.CANARY, approved, canary_since=at)
        return note(new, started), pending


def claim_pipeline(
    service: ServiceBase,
    tx: Transaction,
    who: Principal,
    roles: frozenset[str],
    project: str,
    pipeline: str,
    loop_run: str,
    pipeline_run: str,
) -> None:
    """For `PipelineService.start_run(..., loop_run=ID)`: the loop run, waiting for its
    pipeline, becomes `training` with this pipeline run, in the transaction that records it;
    a Conflict if it is not waiting (another runner started it), so it starts once."""
    check_run_id(loop_run)
    if not service.allowed(tx, roles, Action.LOOP_RUN, project):
        raise service.denied(
            who, roles, Action.LOOP_RUN, project, EntityKind.LOOP_RUN, loop_run,
            f"{who.user} may not drive loop runs in {project!r} (loop.run)",
        )  # fmt: skip
    run = tx.loops.get_run(loop_run, lock=True)
    if run is None or run.project != project:
        raise NotFound(f"no loop run {loop_run} in project {project!r}")
    loop = tx.loops.get_loop(project, run.loop)
    assert loop is not None
    if loop.spec.pipeline != pipeline:
        raise InvalidInput(
            f"loop run {loop_run} runs pipeline {loop.spec.pipeline!r}, not {pipeline!r}"
        )
    if run.state is not LoopState.TRIGGERED:
        raise Conflict(
            f"loop run {loop_run} is {run.state.value}"
            + (f" with pipeline run {run.pipeline_run}" if run.pipeline_run else "")
            + "; its pipeline is started once"
        )
    step = LoopStep(
        StepKind.PIPELINE_STARTED, utcnow(), who.user,
        f"pipeline {pipeline} run {pipeline_run} started by {who.user}",
        {"pipeline_run": pipeline_run, "attempt": run.attempts + 1},
    )  # fmt: skip
    new = advance_to(
        run, LoopState.TRAINING, step, pipeline_run=pipeline_run, attempts=run.attempts + 1
    )
    if not tx.loops.update_run(new, run.revision):
        raise Conflict(f"loop run {loop_run} changed meanwhile; its pipeline is started once")
    payload = {"loop": run.loop, "step": step.kind.value, "state": new.state.value,
               "text": step.text, "detail": step.detail}  # fmt: skip
    service.record(tx, who, roles, Event.LOOP_STEP, project, EntityKind.LOOP_RUN, loop_run, payload)


def _evaluation(request: Any) -> tuple[str, dict[str, Any]]:
    """The evaluation evidence as one line and its numbers."""
    item = next((e for e in request.evidence if e.name is Evidence.EVALUATION), None)
    if item is None or not item.ok:
        return (item.summary if item else "no evaluation"), {}
    cand = item.details.get("candidate") or {}
    holder = item.details.get("holder") or {}
    mine = cand.get("metrics", {})
    theirs = holder.get("metrics", {}) if isinstance(holder, dict) else {}
    shown = [k for k in ("auc", "accuracy", "rmse", "mae") if k in mine][:2]
    parts = []
    for k in shown:
        other = theirs.get(k)
        vs = f" vs {_num(other)} for the holder" if other is not None else ""
        parts.append(f"{k} {_num(mine[k])}{vs}")
    line = f"{request.ref} on {cand.get('dataset')} ({cand.get('rows')} rows): " + (
        ", ".join(parts) or "evaluated"
    )
    return line, {
        "dataset": cand.get("dataset"),
        "candidate": mine,
        "holder": theirs,
        "holder_version": request.holder_version,
    }


def _num(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)
