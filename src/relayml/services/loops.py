"""The closed loop: attach a loop to a project, start its runs (by hand or from an alert), drive
them one transition at a time (`advance`, what a runner calls every tick; `decide`, with the
canary's comparison), and stop them.

A loop run's new state, the step that explains it and the change it stands for (the promotion
request opened, the canary started, promoted or taken away) are written in one transaction, so
a runner killed at any point leaves either the old state or the new one, never half of it:
the next tick carries on from there, and nothing is done twice. The pipeline is run where the
runner runs (user code, `relayml.loops`); `PipelineService.start_run(..., loop_run=ID)` claims
the loop run in the transaction that records the pipeline run, so one loop run starts one
pipeline run at a time.

Nothing is promoted without the policy's approvals: the loop's promotion request is held
(`hold`), so its approval does not move the alias but starts the canary, and only a canary that
wins moves the alias, in the approver's name (docs/loops.md).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from relayml.domain.audit import AuditAction, EntityKind, Event
from relayml.domain.deployments import check_deployment_name
from relayml.domain.identity import Principal
from relayml.domain.loops import (
    HELD_PREFIX,
    CanaryEvidence,
    Loop,
    LoopRun,
    LoopSpec,
    LoopState,
    LoopStep,
    StepKind,
    Verdict,
    advance_to,
    canary_verdict,
    check_evidence,
    check_loop_name,
    check_reason,
    check_run_id,
    check_spec,
    note,
)
from relayml.domain.models import Evidence, RequestState
from relayml.domain.monitors import parse_alert_family
from relayml.domain.refs import parse_ref
from relayml.domain.roles import Action
from relayml.domain.tracking import RunStatus
from relayml.errors import Conflict, InvalidInput, NotFound, RelayError, Unprocessable
from relayml.services.base import ServiceBase, utcnow
from relayml.services.deployments import DeploymentsService
from relayml.services.loop_moves import LoopMoves
from relayml.services.models import ModelService
from relayml.services.notifications import NotificationService, Pending
from relayml.store.artifacts import ArtifactStore
from relayml.store.base import MetadataStore, Transaction

log = logging.getLogger(__name__)
MAX_RUNS = 1000
MAX_PIPELINE_ATTEMPTS = 2  # a pipeline run abandoned by its runner is started once more


class LoopService(ServiceBase):
    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        notifications: NotificationService,
        models: ModelService,
        deployments: DeploymentsService,
        denials: Any = None,
    ) -> None:
        super().__init__(store, artifacts, denials)
        self.notifications = notifications
        self.moves = LoopMoves(models, deployments)
        self.models = models

    # loops ---------------------------------------------------------------------------------
    def attach(self, who: Principal, project: str, name: str, spec: LoopSpec) -> Loop:
        """Attach (or re-attach, with new settings) a loop: its deployment must follow a
        protected alias, its pipeline be registered, and the caller, in whose name the loop
        opens requests and changes the deployment's traffic, may do both."""
        name = check_loop_name(name)
        spec = check_spec(spec)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.LOOP_MANAGE, project, EntityKind.LOOP, name
            )
            for action in (Action.PROMOTION_REQUEST, Action.DEPLOYMENT_CREATE):
                if not self.allowed(tx, roles, action, project):
                    raise self.denied(
                        who, roles, action, project, EntityKind.LOOP, name,
                        f"a loop opens promotion requests and changes deployment "
                        f"{spec.deployment!r}'s traffic in the name of who attaches it; "
                        f"{who.user} may not {action.value} in {project!r} (an ML engineer "
                        "may: relay users grant USER --role ml_engineer)",
                    )  # fmt: skip
            found = tx.deployments.get(project, spec.deployment)
            if found is None or not found[1].active:
                raise NotFound(
                    f"no active deployment {spec.deployment!r} in project {project!r}; list "
                    f"them with: relay deployments ls -p {project}"
                )
            dep = found[1]
            target = parse_ref(dep.target, kind="model", aliases=True)
            if target.alias is None:
                raise Unprocessable(
                    f"deployment {dep.name!r} pins {dep.target}; a loop promotes through a "
                    f"protected alias, so the deployment must follow one: relay deployments "
                    f"set-target {dep.name} {dep.model}@production"
                )
            if self.models._policy(tx, project).rule(target.alias) is None:
                raise Unprocessable(
                    f"alias {target.alias!r} is not protected in project {project!r}, so "
                    "nothing would need an approval; a loop promotes only through a protected "
                    "alias (relay policy apply)"
                )
            if tx.pipelines.get_pipeline(project, spec.pipeline) is None:
                raise NotFound(
                    f"no pipeline {spec.pipeline!r} in project {project!r}; register it "
                    "first: relay pipelines register path/to/file.py:NAME"
                )
            old = tx.loops.get_loop(project, name)
            if old is not None and old.attached:
                raise Conflict(
                    f"loop {name!r} is attached in {project!r}; detach it first (relay loops "
                    f"detach {name} --reason ...) to attach it with other settings"
                )
            loop = Loop(project, name, spec, dep.model, target.alias, who.user, utcnow())
            if old is None:
                tx.loops.insert_loop(loop)
            else:
                tx.loops.replace_loop(loop)
            self.record(
                tx, who, roles, Action.LOOP_MANAGE, project, EntityKind.LOOP, name,
                {"spec": _spec_doc(spec), "model": loop.model, "alias": loop.alias},
            )  # fmt: skip
            return loop

    def detach(self, who: Principal, project: str, name: str, reason: str) -> Loop:
        """No new runs start; the runs under way go on (stop them with `stop`)."""
        name = check_loop_name(name)
        reason = check_reason(reason, required=True)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.LOOP_MANAGE, project, EntityKind.LOOP, name
            )
            loop = self._loop(tx, project, name)
            if not loop.attached:
                raise Conflict(f"loop {name!r} was detached by {loop.detached_by} already")
            done = replace(loop, detached_by=who.user, detached_at=utcnow(), detach_reason=reason)
            tx.loops.replace_loop(done)
            self.record(
                tx, who, roles, Event.LOOP_DETACH, project, EntityKind.LOOP, name,
                {"reason": reason},
            )  # fmt: skip
            return done

    def get(self, who: Principal, project: str, name: str) -> Loop:
        name = check_loop_name(name)
        with self.read() as tx:
            self.require_in_project(tx, who, Action.LOOP_READ, project, EntityKind.LOOP, name)
            return self._loop(tx, project, name)

    def list_loops(self, who: Principal, project: str) -> list[Loop]:
        with self.read() as tx:
            self.require_in_project(tx, who, Action.LOOP_READ, project, EntityKind.PROJECT, project)
            return tx.loops.list_loops(project)

    # runs ----------------------------------------------------------------------------------
    def start(self, who: Principal, project: str, name: str, reason: str) -> LoopRun:
        """Start a run by hand (the reason is kept on it): a runner starts its pipeline at its
        next tick. Refused while another run of the loop is under way."""
        name = check_loop_name(name)
        reason = check_reason(reason, required=True)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.LOOP_RUN, project, EntityKind.LOOP, name
            )
            loop = self._loop(tx, project, name)
            step = LoopStep(
                StepKind.TRIGGERED, utcnow(), who.user, f"started by {who.user}: {reason}"
            )
            return self._new_run(tx, who, roles, loop, "manual", reason, None, step)

    def on_alert(
        self, who: Principal, project: str, deployment: str, kind: str, alert: str, summary: str
    ) -> list[LoopRun]:
        """An alert of family `kind` (`AlertFamily`: an alert's `kind.family`) on `deployment`
        starts one run of each attached loop that reacts to it, once per alert (however often
        it is reported) and only while the loop has no run under way. For the monitors'
        runner; the runs it started."""
        deployment = check_deployment_name(deployment)
        family = parse_alert_family(kind)
        summary = check_reason(summary)
        if not isinstance(alert, str) or not alert or len(alert) > 64:
            raise InvalidInput(f"invalid alert id {alert!r:.40}")
        started: list[LoopRun] = []
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.LOOP_RUN, project, EntityKind.PROJECT, project
            )
            for loop in tx.loops.list_loops(project):
                spec = loop.spec
                if not loop.attached or spec.deployment != deployment or family not in spec.on:
                    continue
                if tx.loops.run_for_alert(project, loop.name, alert) is not None:
                    continue
                if tx.loops.list_runs(project, loop.name, active=True, limit=1):
                    continue
                step = LoopStep(
                    StepKind.TRIGGERED, utcnow(), who.user,
                    f"{family.value} alert {alert} on {deployment}: {summary}",
                    {"alert": alert, "kind": family.value},
                )  # fmt: skip
                started.append(self._new_run(tx, who, roles, loop, "alert", summary, alert, step))
        return started

    def get_run(self, who: Principal, run_id: str) -> LoopRun:
        run_id = check_run_id(run_id)
        with self.read() as tx:
            run = self._run(tx, run_id)
            self.require_in_project(
                tx, who, Action.LOOP_READ, run.project, EntityKind.LOOP_RUN, run_id
            )
            return run

    def list_runs(
        self, who: Principal, project: str, loop: str | None = None, limit: int = 100
    ) -> list[LoopRun]:
        if loop is not None:
            check_loop_name(loop)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RUNS:
            raise InvalidInput(f"limit must be from 1 to {MAX_RUNS}")
        with self.read() as tx:
            self.require_in_project(tx, who, Action.LOOP_READ, project, EntityKind.PROJECT, project)
            return tx.loops.list_runs(project, loop, None, limit)

    def stop(self, who: Principal, run_id: str, reason: str) -> LoopRun:
        """Stop a run wherever it is: its canary leaves the deployment and its request is
        withdrawn, in this transaction. A pipeline run under way finishes on its runner; its
        candidate is then ignored."""
        run_id = check_run_id(run_id)
        reason = check_reason(reason, required=True)
        pending: list[Pending] = []
        with self.write() as tx:
            run = self._run(tx, run_id, lock=True)
            roles = self.require_in_project(
                tx, who, Action.LOOP_STOP, run.project, EntityKind.LOOP_RUN, run_id
            )
            if run.ended:
                raise Conflict(f"loop run {run_id} has ended ({run.state.value}); nothing to stop")
            loop = self._loop(tx, run.project, run.loop)
            why = f"stopped by {who.user}: {reason}"
            pending = self.moves.undo(tx, loop, run, why)
            step = LoopStep(StepKind.STOPPED, utcnow(), who.user, why, self._undone(run))
            new = advance_to(run, LoopState.STOPPED, step)
            self._save(tx, who, roles, run, new, Action.LOOP_STOP)
        self.notifications.send(pending)
        return new

    # driving -------------------------------------------------------------------------------
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

    def decide(self, who: Principal, run_id: str, evidence: CanaryEvidence | None) -> LoopRun:
        """Hand a canary's comparison with the primary (None: none yet); the run is promoted
        or rolled back if the rule (`domain.loops.canary_verdict`) decides, else unchanged."""
        run_id = check_run_id(run_id)
        if evidence is not None:
            check_evidence(evidence)
        with self.read() as tx:
            run = self._run(tx, run_id)
            self.require_in_project(
                tx, who, Action.LOOP_RUN, run.project, EntityKind.LOOP_RUN, run_id
            )
        if run.state is not LoopState.CANARY:
            raise Conflict(f"loop run {run_id} is {run.state.value}, not in canary")
        return self._decide(who, run, evidence)

    # one transition at a time ----------------------------------------------------------------
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

    def _transition(
        self,
        who: Principal,
        run: LoopRun,
        step: Callable[[Transaction, Principal, Loop, LoopRun], tuple[LoopRun, list[Pending]]],
    ) -> LoopRun:
        """Run `step` on the run as it is now, in one transaction; if it fails, the run fails
        with the reason and what it had started is undone, in another."""
        pending: list[Pending] = []
        try:
            with self.write() as tx:
                roles = self.require_in_project(
                    tx, who, Action.LOOP_RUN, run.project, EntityKind.LOOP_RUN, run.id
                )
                now = self._run(tx, run.id, lock=True)
                if now.revision != run.revision:
                    return now  # another runner moved it; it is read again next tick
                loop = self._loop(tx, run.project, run.loop)
                new, pending = step(tx, who, loop, now)
                if new is not now:
                    self._save(tx, who, roles, now, new)
        except (Conflict, Unprocessable, NotFound, InvalidInput) as exc:
            return self._fail(who, run, exc.message)
        self.notifications.send(pending)
        return new

    def _fail(self, who: Principal, run: LoopRun, why: str) -> LoopRun:
        pending: list[Pending] = []
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.LOOP_RUN, run.project, EntityKind.LOOP_RUN, run.id
            )
            now = self._run(tx, run.id, lock=True)
            if now.revision != run.revision or now.ended:
                return now
            loop = self._loop(tx, run.project, run.loop)
            pending = self.moves.undo(tx, loop, now, f"the loop run failed: {why}")
            step = LoopStep(StepKind.FAILED, utcnow(), who.user, why, self._undone(now))
            new = advance_to(now, LoopState.FAILED, step)
            self._save(tx, who, roles, now, new)
        self.notifications.send(pending)
        return new

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

    def _decide(self, who: Principal, run: LoopRun, evidence: CanaryEvidence | None) -> LoopRun:
        with self.read() as tx:
            loop = self._loop(tx, run.project, run.loop)
        assert run.canary_since is not None
        elapsed = (utcnow() - run.canary_since).total_seconds()
        verdict, text = canary_verdict(evidence, loop.spec, elapsed)
        if verdict is Verdict.WAIT:
            return run
        detail: dict[str, Any] = {"verdict": verdict.value}
        if evidence is not None:
            detail.update(evidence.__dict__)

        def settle(
            tx: Transaction, who: Principal, loop: Loop, run: LoopRun
        ) -> tuple[LoopRun, list[Pending]]:
            at = utcnow()
            compared = LoopStep(StepKind.COMPARED, at, who.user, text, detail)
            if verdict is Verdict.WIN:
                why = self.moves.owner_may(tx, loop, Action.DEPLOYMENT_CREATE)
                if why is not None:
                    raise Conflict(why)
                request, pending = self.moves.promote(tx, loop, run, f"the canary won: {text}")
                done = LoopStep(
                    StepKind.PROMOTED, at, who.user,
                    f"{run.candidate} now holds {loop.alias} (request {request.id}, approved by "
                    f"{request.decided_by}); {loop.spec.deployment} serves it to all traffic",
                    {"request": request.id, "alias": loop.alias},
                )  # fmt: skip
                return note(advance_to(run, LoopState.PROMOTED, compared), done), pending
            pending = self.moves.undo(tx, loop, run, f"the canary lost: {text}")
            done = LoopStep(
                StepKind.ROLLED_BACK, at, who.user,
                f"canary {run.candidate} removed from {loop.spec.deployment}; request "
                f"{run.request} withdrawn; {loop.alias} did not move",
                self._undone(run),
            )  # fmt: skip
            return note(advance_to(run, LoopState.ROLLED_BACK, compared), done), pending

        return self._transition(who, run, settle)

    # shared --------------------------------------------------------------------------------
    def _new_run(
        self,
        tx: Transaction,
        who: Principal,
        roles: frozenset[str],
        loop: Loop,
        trigger: str,
        reason: str,
        alert: str | None,
        step: LoopStep,
    ) -> LoopRun:
        if not loop.attached:
            raise Conflict(
                f"loop {loop.name!r} was detached by {loop.detached_by} ({loop.detach_reason}); "
                "attach it again to start it"
            )
        busy = tx.loops.list_runs(loop.project, loop.name, active=True, limit=1)
        if busy:
            raise Conflict(
                f"loop {loop.name!r} has run {busy[0].id} under way ({busy[0].state.value}); "
                f"one run at a time: stop it first (relay loops stop {busy[0].id} --reason ...)"
            )
        run = LoopRun(
            id=uuid.uuid4().hex,
            project=loop.project,
            loop=loop.name,
            state=LoopState.TRIGGERED,
            trigger=trigger,
            reason=reason,
            started_by=who.user,
            started_at=step.at,
            alert=alert,
            steps=(step,),
        )
        tx.loops.insert_run(run)
        self._record_steps(tx, who, roles, run, run.steps, Action.LOOP_RUN)
        return run

    def _save(
        self,
        tx: Transaction,
        who: Principal,
        roles: frozenset[str],
        old: LoopRun,
        new: LoopRun,
        first: AuditAction = Event.LOOP_STEP,
    ) -> None:
        if not tx.loops.update_run(new, old.revision):
            raise Conflict(
                f"loop run {old.id} changed meanwhile; look again: relay loops show {old.id}"
            )
        self._record_steps(tx, who, roles, new, new.steps[len(old.steps) :], first)

    def _record_steps(
        self,
        tx: Transaction,
        who: Principal,
        roles: frozenset[str],
        run: LoopRun,
        steps: tuple[LoopStep, ...],
        first: AuditAction,
    ) -> None:
        for i, step in enumerate(steps):
            payload = {
                "loop": run.loop,
                "step": step.kind.value,
                "state": run.state.value,
                "text": step.text,
                "detail": step.detail,
            }
            action = first if i == 0 else Event.LOOP_STEP
            self.record(tx, who, roles, action, run.project, EntityKind.LOOP_RUN, run.id, payload)

    @staticmethod
    def _undone(run: LoopRun) -> dict[str, Any]:
        return {"request": run.request, "canary": run.candidate, "pipeline_run": run.pipeline_run}

    def _loop(self, tx: Transaction, project: str, name: str) -> Loop:
        loop = tx.loops.get_loop(project, name)
        if loop is None:
            raise NotFound(
                f"no loop {name!r} in project {project!r}; list them with: relay loops ls"
            )
        return loop

    def _run(self, tx: Transaction, run_id: str, lock: bool = False) -> LoopRun:
        run = tx.loops.get_run(run_id, lock=lock)
        if run is None:
            raise NotFound(f"no loop run {run_id}; list them with: relay loops runs")
        return run


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


def _spec_doc(spec: LoopSpec) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in spec.__dict__.items()}
