"""What a loop run does to the rest of Relay, each inside the caller's transaction so that the
loop run's new state and the change it stands for commit together (or neither does): start the
canary, promote it, take it away, and apply or withdraw the loop's promotion request.

Every change is made in the name of the loop's owner (who attached it) and says so in its
reason ("loop retrain-churn run 3f2a…: ..."). Starting a canary and promoting it need the
owner's `deployment.create` now (a loop whose owner lost the role fails instead); undoing the
loop's own canary and closing its own request need nothing more than the right to drive or
stop the loop, so a stop always works.
"""

from __future__ import annotations

from relayml.domain.deployments import (
    ArmRole,
    Deployment,
    DeploymentAction,
    TrafficRules,
    check_traffic,
    target_ref,
)
from relayml.domain.identity import Principal
from relayml.domain.loops import Loop, LoopRun
from relayml.domain.models import PromotionRequest
from relayml.domain.roles import Action
from relayml.errors import Conflict
from relayml.services.deployments import DeploymentsService
from relayml.services.models import ModelService
from relayml.services.notifications import Pending
from relayml.store.base import Transaction


class LoopMoves:
    """The loop's hands on deployments and promotion requests (no audit of the loop itself:
    the loops service records its own step)."""

    def __init__(self, models: ModelService, deployments: DeploymentsService) -> None:
        self.models = models
        self.deployments = deployments

    def owner(self, tx: Transaction, loop: Loop) -> tuple[Principal, frozenset[str]]:
        """The loop's owner as the principal its changes are made by, with their roles now."""
        return Principal(loop.created_by), self.models.roles(tx, loop.created_by, loop.project)

    def owner_may(self, tx: Transaction, loop: Loop, action: Action) -> str | None:
        """None if the owner may do `action` in the project now, else why not."""
        _, roles = self.owner(tx, loop)
        if self.models.allowed(tx, roles, action, loop.project):
            return None
        held = ", ".join(sorted(roles)) or "no role"
        return (
            f"the loop's owner {loop.created_by} holds {held} in {loop.project!r} and may no "
            f"longer {action.value}; an owner who may attaches it again (relay loops attach)"
        )

    def deployment(self, tx: Transaction, loop: Loop) -> tuple[int, Deployment]:
        """The loop's deployment, which must still be active and follow the loop's alias."""
        model_id, dep = self.deployments._get(tx, loop.project, loop.spec.deployment)
        follows = f"{loop.model}@{loop.alias}"
        if not dep.active or dep.target != follows:
            now = "archived" if not dep.active else f"serving {dep.target}"
            raise Conflict(
                f"deployment {dep.name!r} no longer follows {follows} (it is {now}); the loop "
                "promotes only through that alias"
            )
        return model_id, dep

    def start_canary(
        self, tx: Transaction, loop: Loop, run: LoopRun, percent: float
    ) -> tuple[Deployment, list[Pending]]:
        """The candidate, pinned by version, as the deployment's canary at `percent` %; the
        shadow stays. Refused if another canary is live (the loop does not replace it)."""
        who, roles = self.owner(tx, loop)
        model_id, dep = self.deployment(tx, loop)
        if dep.traffic.canary is not None:
            raise Conflict(
                f"deployment {dep.name!r} already has a canary ({dep.traffic.canary}); the loop "
                "does not replace a canary it did not start"
            )
        assert run.candidate is not None
        rules = check_traffic(
            dep.target,
            canary=run.candidate,
            canary_percent=percent,
            shadow=dep.traffic.shadow if dep.traffic.shadow != run.candidate else None,
        )
        new = self.deployments._next(dep, who, traffic=rules)
        self.deployments._check_servable(tx, model_id, new, [ArmRole.CANARY])
        why = f"loop {loop.name} run {run.id}: canary of approved request {run.request}"
        pending = self.deployments._change(
            tx, who, roles, model_id, dep, new, DeploymentAction.SET_TRAFFIC, why
        )
        return new, pending

    def promote(
        self, tx: Transaction, loop: Loop, run: LoopRun, why: str
    ) -> tuple[PromotionRequest, list[Pending]]:
        """The canary won: the approved request moves the alias (in its approver's name) and
        the deployment, which follows the alias, sends all traffic to it; the canary clears."""
        who, roles = self.owner(tx, loop)
        assert run.request is not None and run.candidate is not None
        request, pending = self.models._apply_held(tx, who, roles, run.request)
        model_id, dep = self.deployment(tx, loop)
        self._own_canary(dep, run)
        shadow = dep.traffic.shadow if dep.traffic.shadow != run.candidate else None
        new = self.deployments._next(dep, who, traffic=TrafficRules(shadow=shadow))
        pending += self.deployments._change(
            tx, who, roles, model_id, dep, new, DeploymentAction.PROMOTE_CANARY,
            f"loop {loop.name} run {run.id}: {why}",
        )  # fmt: skip
        return request, pending

    def undo(self, tx: Transaction, loop: Loop, run: LoopRun, why: str) -> list[Pending]:
        """Take back what the run started: its canary leaves the deployment (every request to
        the primary again, which still follows the alias, so nothing is pinned) and its
        request, if still open or approved, is withdrawn with `why`. What is already gone (a
        canary someone else removed) is left alone."""
        who, roles = self.owner(tx, loop)
        pending: list[Pending] = []
        if run.request is not None:
            _, pending = self.models._close_held(tx, who, roles, run.request, why)
        if run.candidate is None:
            return pending
        found = tx.deployments.get(loop.project, loop.spec.deployment)
        if found is None:
            return pending
        model_id, dep = found
        if not dep.active or dep.traffic.canary != run.candidate:
            return pending
        shadow = dep.traffic.shadow
        rules = check_traffic(dep.target, shadow=shadow)
        new = self.deployments._next(dep, who, traffic=rules)
        pending += self.deployments._change(
            tx, who, roles, model_id, dep, new, DeploymentAction.SET_TRAFFIC,
            f"loop {loop.name} run {run.id}: {why}",
        )  # fmt: skip
        return pending

    @staticmethod
    def _own_canary(dep: Deployment, run: LoopRun) -> None:
        if dep.traffic.canary != run.candidate:
            now = dep.traffic.canary or "no canary"
            raise Conflict(
                f"deployment {dep.name!r} has {now}, not the loop's canary {run.candidate}: "
                "its traffic was changed outside the loop"
            )

    @staticmethod
    def pinned(loop: Loop, ref: str) -> str:
        """The candidate as a pinned ref of the loop's model (``churn@7``)."""
        parsed = target_ref(ref)
        if parsed.name != loop.model or parsed.version is None:
            raise Conflict(
                f"the candidate {ref!r} is not a version of {loop.model!r}: the pipeline's "
                f"step {loop.spec.candidate_step!r} must return the ref it registered, e.g. "
                f"{loop.model}@7"
            )
        return str(parsed)
