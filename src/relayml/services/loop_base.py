"""What the loops service's parts share: looking a loop and a run up, one transition of a run
in one transaction (`_transition`, and `_fail`, which undoes what a failed run started), and
saving a run with an audit event per new step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from relayml.domain.audit import AuditAction, EntityKind, Event
from relayml.domain.identity import Principal
from relayml.domain.loops import Loop, LoopRun, LoopState, LoopStep, StepKind, advance_to
from relayml.domain.roles import Action
from relayml.errors import Conflict, InvalidInput, NotFound, Unprocessable
from relayml.services.base import ServiceBase, utcnow
from relayml.services.deployments import DeploymentsService
from relayml.services.loop_moves import LoopMoves
from relayml.services.models import ModelService
from relayml.services.notifications import NotificationService, Pending
from relayml.store.artifacts import ArtifactStore
from relayml.store.base import MetadataStore, Transaction

MAX_RUNS = 1000


class LoopBase(ServiceBase):
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

    # one transition at a time ----------------------------------------------------------------
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
        self.notifications.dispatch(pending)
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
        self.notifications.dispatch(pending)
        return new

    # saving and lookups --------------------------------------------------------------------
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
