"""Deciding a loop run's canary: `decide` takes the canary's comparison with the primary (the
runner computes it where it runs, `relayml.loops`) and the rule (`domain.loops.canary_verdict`)
promotes the candidate, rolls it back, or waits."""

from __future__ import annotations

from typing import Any

from relayml.domain.audit import EntityKind
from relayml.domain.identity import Principal
from relayml.domain.loops import (
    CanaryEvidence,
    Loop,
    LoopRun,
    LoopState,
    LoopStep,
    StepKind,
    Verdict,
    advance_to,
    canary_verdict,
    check_evidence,
    check_run_id,
    note,
)
from relayml.domain.roles import Action
from relayml.errors import Conflict
from relayml.services.base import utcnow
from relayml.services.loop_base import LoopBase
from relayml.services.notifications import Pending
from relayml.store.base import Transaction


class CanaryMixin(LoopBase):
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
