"""Deployments: what model servers serve, how traffic splits, and how it changes.

A deployment names one model and follows an alias (``churn@production``) or pins a version
(``churn@3``); its traffic rules add a canary (a share of live traffic, sticky by a request key)
and a shadow (every request mirrored, answers recorded, never returned), both of the same model.
Every change bumps the revision, is kept in the history with the primary version served before
and after, and is audited in the same transaction. A deployment never moves an alias: promoting
a canary of a deployment that follows an alias needs the alias to hold the canary's version
already (the promotion request approved), so governance is never bypassed. `resolve` is what a
model server polls: the exact versions and digests each arm serves now, in one read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from relayml.domain.audit import AuditAction, EntityKind, Event
from relayml.domain.deployments import (
    ArmRole,
    Deployment,
    DeploymentAction,
    DeploymentChange,
    DeploymentState,
    DeploymentStatus,
    Resolution,
    ServedArm,
    TrafficRules,
    arm_weights,
    check_bool,
    check_deployment_name,
    check_reason,
    check_traffic,
    rollback_version,
    target_ref,
)
from relayml.domain.identity import Principal
from relayml.domain.models import ModelVersion, VersionStatus
from relayml.domain.notifications import Event as Notification
from relayml.domain.notifications import EventKind
from relayml.domain.roles import Action
from relayml.errors import Conflict, InvalidInput, NotFound, Unprocessable
from relayml.services.base import utcnow
from relayml.services.deployment_traffic import DeploymentTrafficMixin
from relayml.services.notifications import Pending
from relayml.services.prediction_data import PredictionDataMixin
from relayml.store.base import Transaction


def _refs(dep_target: str, traffic: TrafficRules) -> list[tuple[ArmRole, str]]:
    arms = [(ArmRole.PRIMARY, dep_target)]
    if traffic.canary is not None:
        arms.append((ArmRole.CANARY, traffic.canary))
    if traffic.shadow is not None:
        arms.append((ArmRole.SHADOW, traffic.shadow))
    return arms


class DeploymentsService(PredictionDataMixin, DeploymentTrafficMixin):
    """Deployments and their changes here; the prediction log's segments and feedback in
    `services/prediction_data.py`."""

    # lookups ------------------------------------------------------------------------------
    @staticmethod
    def _active(dep: Deployment) -> None:
        if not dep.active:
            raise Conflict(
                f"deployment {dep.name!r} is archived; it takes no changes. Deploy anew under "
                f"another name: relay deploy {dep.target} --name NAME"
            )

    def _served(
        self, tx: Transaction, model_id: int, refs: Iterable[str]
    ) -> dict[str, ModelVersion | None]:
        """The version behind each ref now (None: no such version, or the alias points
        nowhere), in one statement."""
        parsed = {ref: target_ref(ref) for ref in refs}
        numbers = [r.version for r in parsed.values() if r.version is not None]
        aliases = [r.alias for r in parsed.values() if r.alias is not None]
        found, held = tx.models.versions_for(model_id, numbers, aliases)
        out: dict[str, ModelVersion | None] = {}
        for ref, r in parsed.items():
            number = r.version if r.version is not None else held.get(r.alias or "")
            out[ref] = found.get(number) if number is not None else None
        return out

    def _primary(self, tx: Transaction, model_id: int, dep: Deployment) -> int | None:
        if not dep.active:
            return None
        version = self._served(tx, model_id, [dep.target])[dep.target]
        return version.version if version is not None else None

    def _check_servable(
        self, tx: Transaction, model_id: int, dep: Deployment, roles: list[ArmRole]
    ) -> dict[str, ModelVersion]:
        """Each of the deployment's arms in `roles` must name a version that exists now, is
        not archived, and is not a pickle unless the deployment allows pickles."""
        arms = [(role, ref) for role, ref in _refs(dep.target, dep.traffic) if role in roles]
        served = self._served(tx, model_id, [ref for _, ref in arms])
        out: dict[str, ModelVersion] = {}
        for role, ref in arms:
            r = target_ref(ref)
            version = served[ref]
            if version is None:
                if r.alias is not None:
                    raise NotFound(
                        f"the {role.value} {ref}: no version of {r.name!r} holds alias "
                        f"{r.alias!r}; see its aliases with: relay models show {r.name}"
                    )
                raise NotFound(
                    f"the {role.value} {ref}: model {r.name!r} has no version {r.version}; see "
                    f"them with: relay models versions {r.name}"
                )
            if version.status is VersionStatus.ARCHIVED:
                raise Conflict(
                    f"the {role.value} {ref} is archived (version {version.version}); an archived "
                    "version is not served: name another version"
                )
            if (version.unsafe_pickle or version.flavor.runs_code_on_load) and not (
                dep.unsafe_pickle
            ):
                raise Unprocessable(
                    f"the {role.value} {ref} (version {version.version}) is saved as a pickle, "
                    "which runs code when it loads; deploy it only if you trust who registered "
                    "it, saying so: relay deploy ... --unsafe-pickle (unsafe_pickle=True)"
                )
            out[ref] = version
        return out

    # reading ------------------------------------------------------------------------------
    def get(self, who: Principal, project: str, name: str) -> Deployment:
        name = check_deployment_name(name)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.DEPLOYMENT_READ, project, EntityKind.DEPLOYMENT, name
            )
            return self._get(tx, project, name)[1]

    def list_deployments(
        self, who: Principal, project: str, include_archived: bool = False
    ) -> list[Deployment]:
        check_bool("include_archived", include_archived)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.DEPLOYMENT_READ, project, EntityKind.PROJECT, project
            )
            return tx.deployments.list_deployments(project, include_archived)

    def history(self, who: Principal, project: str, name: str) -> list[DeploymentChange]:
        """Every change, newest first, with before and after and the primary version served."""
        name = check_deployment_name(name)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.DEPLOYMENT_READ, project, EntityKind.DEPLOYMENT, name
            )
            _, dep = self._get(tx, project, name)
            return tx.deployments.changes(dep.id, name)[::-1]

    def resolve(self, who: Principal, project: str, name: str) -> Resolution:
        """What a server serves now: each arm's exact version and digest (aliases resolved),
        with its share of live traffic. One read transaction of five statements (the
        project, the caller's grants, the role documents in force, the deployment, the arms'
        versions): servers poll it.
        An archived deployment has no arms; an arm whose alias points nowhere is left out."""
        name = check_deployment_name(name)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.DEPLOYMENT_READ, project, EntityKind.DEPLOYMENT, name
            )
            model_id, dep = self._get(tx, project, name)
            now = utcnow()
            arms: list[ServedArm] = []
            if dep.active:
                refs = _refs(dep.target, dep.traffic)
                served = self._served(tx, model_id, [ref for _, ref in refs])
                weights = arm_weights(dep.traffic)
                if served.get(dep.traffic.canary or "") is None:
                    weights[ArmRole.PRIMARY] = 100.0  # a canary alias that points nowhere
                for role, ref in refs:
                    version = served[ref]
                    if version is None:
                        continue
                    arms.append(
                        ServedArm(
                            role=role,
                            ref=ref,
                            model=dep.model,
                            version=version.version,
                            digest=version.digest,
                            flavor=version.flavor.value,
                            weight=weights[role],
                        )
                    )
            return Resolution(
                deployment=dep.name,
                project=project,
                revision=dep.revision,
                arms=tuple(arms),
                resolved_at=now,
                sticky_key=dep.traffic.sticky_key,
                unsafe_pickle=dep.unsafe_pickle,
            )

    # changing -----------------------------------------------------------------------------
    def create(
        self,
        who: Principal,
        project: str,
        name: str,
        target: str,
        *,
        traffic: TrafficRules | None = None,
        unsafe_pickle: bool = False,
        reason: str = "",
    ) -> Deployment:
        """A deployment of `target` (``churn@production`` follows the alias, ``churn@3``
        pins): the model must exist, every arm must name a version that exists and is not
        archived, and a pickle is served only with `unsafe_pickle`."""
        name = check_deployment_name(name)
        ref = target_ref(target)
        if traffic is not None and not isinstance(traffic, TrafficRules):
            raise InvalidInput("traffic must be TrafficRules (canary, percent, sticky key, shadow)")
        rules = traffic or TrafficRules()
        rules = check_traffic(
            str(ref),
            canary=rules.canary,
            canary_percent=rules.canary_percent,
            sticky_key=rules.sticky_key,
            shadow=rules.shadow,
        )
        check_bool("unsafe_pickle", unsafe_pickle)
        reason = check_reason(reason)
        pending: list[Pending] = []
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.DEPLOYMENT_CREATE, project, EntityKind.DEPLOYMENT, name
            )
            existing = tx.deployments.get(project, name)
            if existing is not None:
                old = existing[1]
                raise Conflict(
                    f"deployment {name!r} exists in project {project!r} ({old.status.value}, "
                    f"serving {old.target}); change it with relay deployments set-target or "
                    "set-traffic, or choose another name"
                )
            model_id = self._model(tx, project, ref.name)
            now = utcnow()
            dep = Deployment(
                id=uuid.uuid4().hex,
                project=project,
                name=name,
                target=str(ref),
                model=ref.name,
                traffic=rules,
                revision=1,
                status=DeploymentStatus.ACTIVE,
                created_by=who.user,
                created_at=now,
                updated_by=who.user,
                updated_at=now,
                unsafe_pickle=unsafe_pickle,
            )
            served = self._check_servable(tx, model_id, dep, list(ArmRole))
            tx.deployments.insert(model_id, dep)
            after = self._state(dep, served[dep.target].version)
            change = DeploymentChange(
                name, 1, DeploymentAction.CREATE, who.user, now, reason, None, after
            )
            tx.deployments.add_change(dep.id, change)
            pending = self._audit(tx, who, roles, Action.DEPLOYMENT_CREATE, dep, change)
        self._send(pending)
        return dep

    def set_target(
        self, who: Principal, project: str, name: str, target: str, *, reason: str = ""
    ) -> Deployment:
        """Follow another alias or pin another version of the same model; the traffic rules
        stay (and must still hold). Setting the target it has changes nothing."""
        name = check_deployment_name(name)
        ref = target_ref(target)
        reason = check_reason(reason)
        pending: list[Pending] = []
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.DEPLOYMENT_CREATE, project, EntityKind.DEPLOYMENT, name
            )
            model_id, dep = self._get(tx, project, name)
            self._active(dep)
            if ref.name != dep.model:
                raise InvalidInput(
                    f"deployment {name!r} serves model {dep.model!r}, not {ref.name!r}: a "
                    f"deployment serves one model (e.g. {dep.model}@production); deploy "
                    f"{ref.name} under a name of its own"
                )
            if str(ref) == dep.target:
                return dep
            t = dep.traffic
            rules = check_traffic(
                str(ref),
                canary=t.canary,
                canary_percent=t.canary_percent,
                sticky_key=t.sticky_key,
                shadow=t.shadow,
            )
            new = self._next(dep, who, target=str(ref), traffic=rules)
            self._check_servable(tx, model_id, new, [ArmRole.PRIMARY])
            pending = self._change(
                tx, who, roles, model_id, dep, new, DeploymentAction.SET_TARGET, reason
            )
        self._send(pending)
        return new

    def set_traffic(
        self,
        who: Principal,
        project: str,
        name: str,
        *,
        canary: str | None = None,
        canary_percent: float = 0.0,
        shadow: str | None = None,
        sticky_key: str | None = None,
        reason: str = "",
    ) -> Deployment:
        """Replace the traffic rules: leave `canary` and `shadow` out to send everything to
        the primary again."""
        name = check_deployment_name(name)
        reason = check_reason(reason)
        pending: list[Pending] = []
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.DEPLOYMENT_CREATE, project, EntityKind.DEPLOYMENT, name
            )
            model_id, dep = self._get(tx, project, name)
            self._active(dep)
            rules = check_traffic(
                dep.target,
                canary=canary,
                canary_percent=canary_percent,
                sticky_key=sticky_key,
                shadow=shadow,
            )
            if rules == dep.traffic:
                return dep
            new = self._next(dep, who, traffic=rules)
            self._check_servable(tx, model_id, new, [ArmRole.CANARY, ArmRole.SHADOW])
            pending = self._change(
                tx, who, roles, model_id, dep, new, DeploymentAction.SET_TRAFFIC, reason
            )
        self._send(pending)
        return new

    def promote_canary(
        self, who: Principal, project: str, name: str, *, reason: str = ""
    ) -> Deployment:
        """All traffic to the canary's version, the canary cleared. A pinned deployment is
        repinned to the canary's version. A deployment that follows an alias keeps following
        it, and is promoted only once the alias holds the canary's version: moving the alias
        is the registry's (an approved promotion request for a protected alias), never the
        deployment's."""
        name = check_deployment_name(name)
        reason = check_reason(reason)
        pending: list[Pending] = []
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.DEPLOYMENT_CREATE, project, EntityKind.DEPLOYMENT, name
            )
            model_id, dep = self._get(tx, project, name)
            self._active(dep)
            canary = dep.traffic.canary
            if canary is None:
                raise Unprocessable(
                    f"deployment {name!r} has no canary to promote; start one with: relay "
                    f"deployments set-traffic {name} --canary {dep.model}@VERSION "
                    "--canary-percent 10"
                )
            served = self._check_servable(tx, model_id, dep, [ArmRole.CANARY])
            version = served[canary].version
            target = target_ref(dep.target)
            if target.alias is not None:
                holder = self._served(tx, model_id, [dep.target])[dep.target]
                if holder is None or holder.version != version:
                    raise Conflict(self._promote_advice(tx, project, dep, canary, version, holder))
                new_target = dep.target
            else:
                new_target = f"{dep.model}@{version}"
            shadow = dep.traffic.shadow
            if shadow == new_target:
                shadow = None
            new = self._next(dep, who, target=new_target, traffic=TrafficRules(shadow=shadow))
            pending = self._change(
                tx, who, roles, model_id, dep, new, DeploymentAction.PROMOTE_CANARY, reason
            )
        self._send(pending)
        return new

    def _promote_advice(
        self,
        tx: Transaction,
        project: str,
        dep: Deployment,
        canary: str,
        version: int,
        holder: ModelVersion | None,
    ) -> str:
        alias = target_ref(dep.target).alias or ""
        holds = f"version {holder.version}" if holder is not None else "no version"
        protected = self._policy(tx, project).rule(alias) is not None
        move = (
            f"Alias {alias!r} is protected, so open a promotion request: relay models promote "
            f"{dep.model}@{version} --to {alias}"
            if protected
            else f"Move the alias first: relay models set-alias {dep.model}@{version} {alias}"
        )
        return (
            f"deployment {dep.name!r} follows {dep.target}, which holds {holds}, and its "
            f"canary {canary} is version {version}: promoting would serve a version the "
            f"alias does not hold. {move}; once {dep.target} holds version {version}, run "
            f"promote-canary again (or pin the version: relay deployments set-target "
            f"{dep.name} {dep.model}@{version})"
        )

    def rollback(self, who: Principal, project: str, name: str, *, reason: str = "") -> Deployment:
        """Undo, at once, the newest change to what answers requests, pinning the deployment
        to the version it returns to (the alias's next move will not undo the rollback): with
        a canary live, every request goes back to the primary's current version; without,
        the primary returns to the version it served before this one (the deployment's
        history and the alias's moves say which). The shadow stays. Allowed to DevOps."""
        name = check_deployment_name(name)
        reason = check_reason(reason)
        pending: list[Pending] = []
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.DEPLOYMENT_ROLLBACK, project, EntityKind.DEPLOYMENT, name
            )
            model_id, dep = self._get(tx, project, name)
            self._active(dep)
            current = self._primary(tx, model_id, dep)
            if dep.traffic.canary is not None:
                if current is None:
                    raise Unprocessable(
                        f"deployment {name!r} follows {dep.target}, which points nowhere; pin "
                        f"a version: relay deployments set-target {name} {dep.model}@VERSION"
                    )
                back_to = current
            else:
                changes = tx.deployments.changes(dep.id, name)
                moves = tx.models.alias_history(project, dep.model)
                _, previous = rollback_version(changes, moves)
                if previous is None or previous == current:
                    raise Unprocessable(
                        f"deployment {name!r} has served no other version before "
                        f"{dep.model}@{current}: there is nothing to roll back to. Pin a "
                        f"version: relay deployments set-target {name} {dep.model}@VERSION"
                    )
                back_to = previous
            new_target = f"{dep.model}@{back_to}"
            shadow = dep.traffic.shadow if dep.traffic.shadow != new_target else None
            new = self._next(dep, who, target=new_target, traffic=TrafficRules(shadow=shadow))
            self._check_servable(tx, model_id, new, [ArmRole.PRIMARY])
            pending = self._change(
                tx, who, roles, model_id, dep, new, DeploymentAction.ROLLBACK, reason
            )
        self._send(pending)
        return new

    def archive(self, who: Principal, project: str, name: str, *, reason: str = "") -> Deployment:
        """Stop serving: an archived deployment resolves to no arm and takes no change; its
        history, segments and feedback stay."""
        name = check_deployment_name(name)
        reason = check_reason(reason)
        pending: list[Pending] = []
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.DEPLOYMENT_CREATE, project, EntityKind.DEPLOYMENT, name
            )
            model_id, dep = self._get(tx, project, name)
            self._active(dep)
            new = self._next(dep, who, status=DeploymentStatus.ARCHIVED)
            pending = self._change(
                tx, who, roles, model_id, dep, new, DeploymentAction.ARCHIVE, reason
            )
        self._send(pending)
        return new

    # the change machinery -----------------------------------------------------------------
    @staticmethod
    def _next(dep: Deployment, who: Principal, **changes: Any) -> Deployment:
        return replace(
            dep, revision=dep.revision + 1, updated_by=who.user, updated_at=utcnow(), **changes
        )

    @staticmethod
    def _state(dep: Deployment, primary: int | None) -> DeploymentState:
        return DeploymentState(dep.target, dep.traffic, primary, dep.status)

    _EVENTS: dict[DeploymentAction, AuditAction] = {
        DeploymentAction.CREATE: Action.DEPLOYMENT_CREATE,
        DeploymentAction.SET_TARGET: Event.DEPLOYMENT_SET_TARGET,
        DeploymentAction.SET_TRAFFIC: Event.DEPLOYMENT_SET_TRAFFIC,
        DeploymentAction.PROMOTE_CANARY: Event.DEPLOYMENT_PROMOTE_CANARY,
        DeploymentAction.ROLLBACK: Action.DEPLOYMENT_ROLLBACK,
        DeploymentAction.ARCHIVE: Event.DEPLOYMENT_ARCHIVE,
    }

    def _change(
        self,
        tx: Transaction,
        who: Principal,
        roles: frozenset[str],
        model_id: int,
        old: Deployment,
        new: Deployment,
        action: DeploymentAction,
        reason: str,
    ) -> list[Pending]:
        """Write `new` over `old` (refused if another change came first), keep the change in
        the history with the primary version served before and after, audit it and queue
        its webhook event, all in `tx`."""
        before = self._state(old, self._primary(tx, model_id, old))
        after = self._state(new, self._primary(tx, model_id, new))
        if not tx.deployments.update(new, old.revision):
            raise Conflict(
                f"deployment {old.name!r} changed while this change was being made; look at it "
                f"again (relay deployments show {old.name}) and retry"
            )
        change = DeploymentChange(
            old.name, new.revision, action, who.user, new.updated_at, reason, before, after
        )
        tx.deployments.add_change(new.id, change)
        return self._audit(tx, who, roles, self._EVENTS[action], new, change)

    def _audit(
        self,
        tx: Transaction,
        who: Principal,
        roles: frozenset[str],
        event: AuditAction,
        dep: Deployment,
        change: DeploymentChange,
    ) -> list[Pending]:
        def state(s: DeploymentState | None) -> dict[str, Any] | None:
            if s is None:
                return None
            t = s.traffic
            return {
                "target": s.target,
                "canary": t.canary,
                "canary_percent": t.canary_percent,
                "sticky_key": t.sticky_key,
                "shadow": t.shadow,
                "primary_version": s.primary_version,
                "status": s.status.value,
            }

        payload = {
            "action": change.action.value,
            "revision": change.revision,
            "reason": change.reason,
            "before": state(change.before),
            "after": state(change.after),
        }
        self.record(tx, who, roles, event, dep.project, EntityKind.DEPLOYMENT, dep.name, payload)
        before = change.before.primary_version if change.before else None
        text = (
            f"{who.user}: {change.action.value} on deployment {dep.name} ({dep.target}), "
            f"primary version {before} -> {change.after.primary_version}"
        )
        note = Notification(
            kind=EventKind.DEPLOYMENT_CHANGED,
            project=dep.project,
            subject=f"deployment:{dep.project}/{dep.name}",
            payload={**payload, "deployment": dep.name, "by": who.user},
            time=change.at,
            text=text,
        )
        return self.notifications.enqueue(tx, note)
