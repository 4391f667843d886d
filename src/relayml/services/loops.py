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

The service is split by concept: here the loops themselves (attach, detach) and their runs
(start, stop, read); `services/loop_driving.py` drives the runs (`advance`, `claim_pipeline`)
on `services/loop_canary.py` (`decide`), both on `services/loop_base.py` (lookups, one
transition in one transaction); `services/loop_moves.py` is the loop's hands on deployments and
promotion requests.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from relayml.domain.audit import EntityKind, Event
from relayml.domain.deployments import check_deployment_name
from relayml.domain.identity import Principal
from relayml.domain.loops import (
    Loop,
    LoopRun,
    LoopSpec,
    LoopState,
    LoopStep,
    StepKind,
    advance_to,
    check_loop_name,
    check_reason,
    check_run_id,
    check_spec,
)
from relayml.domain.monitors import parse_alert_family
from relayml.domain.refs import parse_ref
from relayml.domain.roles import Action
from relayml.errors import Conflict, InvalidInput, NotFound, Unprocessable
from relayml.services.base import utcnow
from relayml.services.loop_base import MAX_RUNS
from relayml.services.loop_driving import DrivingMixin
from relayml.services.notifications import Pending
from relayml.store.base import Transaction


class LoopService(DrivingMixin):
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
        self.notifications.dispatch(pending)
        return new

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


def _spec_doc(spec: LoopSpec) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in spec.__dict__.items()}
