"""Promotion requests, the hand-off to governance: open one (its evidence computed now), review
it (approve, reject, withdraw, comment), and the inbox of what waits for the caller's roles.

The approval that completes a request moves the protected alias in the same transaction as its
audit event, and only if the alias still has the holder the evidence compared against;
separation of duties is checked on every review (not the requester, not the run's author).
"""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from relayml.domain.audit import EntityKind, Event
from relayml.domain.datasets import DatasetStatus
from relayml.domain.enums import parse_enum
from relayml.domain.identity import Principal, Role, check_name
from relayml.domain.models import (
    AliasMove,
    InboxItem,
    PromotionRequest,
    RequestState,
    Review,
    ReviewKind,
    VersionStatus,
    check_text,
)
from relayml.domain.notifications import model_request_event
from relayml.domain.refs import parse_ref
from relayml.domain.roles import Action
from relayml.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unprocessable,
)
from relayml.services.alerts import inbox_items as alert_items
from relayml.services.base import utcnow
from relayml.services.evidence import EvidenceMixin
from relayml.services.notifications import Pending
from relayml.services.registry import model_ref
from relayml.store.base import Transaction

MAX_REQUESTS = 1000


class RequestDraft(NamedTuple):
    """A request with its evidence computed, not yet recorded; its model's and version's ids."""

    request: PromotionRequest
    model_id: int
    version_id: int


class PromotionMixin(EvidenceMixin):
    # promotion requests ------------------------------------------------------------------
    def promote(
        self,
        who: Principal,
        project: str,
        ref: str,
        alias: str,
        note: str = "",
        dataset: str | None = None,
        target: str | None = None,
    ) -> PromotionRequest:
        """Open a request to move the protected `alias` to the version `ref`; its evidence is
        computed now and stored with it. The evaluation dataset is the policy's, unless one is
        given here (`dataset` and `target`)."""
        draft = self._draft_request(who, project, ref, alias, note, dataset, target)
        with self.write() as tx:
            pending = self._open_request(tx, who, draft)
        self._send(pending)
        return draft.request

    def _draft_request(
        self,
        who: Principal,
        project: str,
        ref: str,
        alias: str,
        note: str = "",
        dataset: str | None = None,
        target: str | None = None,
        hold: str | None = None,
    ) -> RequestDraft:
        """A request to open, its evidence computed (outside any transaction: it loads and
        runs the models); `_open_request` records it. `hold` is set by the loops service."""
        note = check_text("note", note)
        target_ref = parse_ref(f"{model_ref(ref).name}@{alias}", kind="model", aliases=True)
        if target_ref.alias is None:
            raise InvalidInput(f"{alias!r} is not an alias name")
        if (dataset is None) != (target is None):
            raise InvalidInput("give both dataset and target, or neither (the policy's)")
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.PROMOTION_REQUEST, project, EntityKind.MODEL, ref
            )
            policy = self._policy(tx, project)
            rule = policy.rule(alias)
            if rule is None:
                raise Conflict(
                    f"alias {alias!r} is not protected in project {project!r}: set it directly "
                    f"with: relay models set-alias {ref} {alias}"
                )
            mid = self._model(tx, project, model_ref(ref).name)
            vid, version = self._find(tx, project, ref)
            if version.status is VersionStatus.ARCHIVED:
                raise Conflict(f"{version.ref} is archived; it cannot be promoted")
            holder_number = tx.models.alias_holder(mid, alias)
            if holder_number == version.version:
                raise Conflict(f"{version.ref} already holds {alias!r}")
            holder = (
                tx.models.find_version(project, version.name, holder_number, None)
                if holder_number is not None
                else None
            )
            requirements = tx.models.requirements(project, version.name)
            card = tx.models.card(mid, version.name)
            data_checks = self._data_checks(tx, project, version)
            if dataset is not None:
                evaluation_on: tuple[str, str, list[str]] | None = (dataset, target or "", [])
            elif policy.evaluation is not None:
                ev = policy.evaluation
                evaluation_on = (ev.dataset, ev.target, list(ev.slices))
            else:
                evaluation_on = None
            blob = self._dataset_blob(tx, project, evaluation_on[0]) if evaluation_on else None
        evidence = self._evidence(
            rule,
            policy,
            version,
            holder[1] if holder else None,
            requirements,
            card,
            data_checks,
            evaluation_on,
            blob,
        )
        request = PromotionRequest(
            id=uuid.uuid4().hex[:12],
            project=project,
            model=version.name,
            version=version.version,
            alias=alias,
            state=RequestState.OPEN,
            requester=who.user,
            note=note,
            created_at=utcnow(),
            holder_version=holder_number,
            policy_version=policy.version,
            evidence=tuple(evidence),
            hold=hold,
        )
        return RequestDraft(request, mid, vid)

    def _open_request(self, tx: Transaction, who: Principal, draft: RequestDraft) -> list[Pending]:
        """Record a drafted request in `tx` (refused if the alias moved meanwhile), audited,
        its `request.opened` event queued (send the pending deliveries after the commit)."""
        request, mid, vid = draft
        roles = self.require_in_project(
            tx, who, Action.PROMOTION_REQUEST, request.project, EntityKind.MODEL, request.ref
        )
        if tx.models.alias_holder(mid, request.alias) != request.holder_version:
            raise Conflict(
                f"alias {request.alias!r} moved while the evidence was computed; try again"
            )
        tx.models.insert_request(request, mid, vid)
        payload = {
            "request": request.id,
            "alias": request.alias,
            "version": request.version,
            "holder": request.holder_version,
            "failed": [e.name.value for e in request.failed_evidence],
            "hold": request.hold,
        }
        self.record(
            tx,
            who,
            roles,
            Action.PROMOTION_REQUEST,
            request.project,
            EntityKind.REQUEST,
            request.id,
            payload,
        )
        return self.notifications.enqueue(tx, model_request_event(request, "opened", who.user))

    def _request(
        self, tx: Transaction, request_id: str, lock: bool = False
    ) -> tuple[int, int, PromotionRequest]:
        if not isinstance(request_id, str) or not request_id.isalnum() or len(request_id) > 32:
            raise InvalidInput(
                f"invalid request id {request_id!r}; list them with: relay requests ls"
            )
        found = tx.models.get_request(request_id, lock=lock)
        if found is None:
            raise NotFound(f"no promotion request {request_id}; list them with: relay requests ls")
        return found

    def get_request(self, who: Principal, request_id: str) -> PromotionRequest:
        with self.read() as tx:
            _, _, req = self._request(tx, request_id)
            self.require_in_project(
                tx, who, Action.REQUEST_READ, req.project, EntityKind.REQUEST, req.id
            )
            return req

    def list_requests(
        self,
        who: Principal,
        project: str,
        state: str | None = None,
        model: str | None = None,
        limit: int = 100,
    ) -> list[PromotionRequest]:
        states = [parse_enum(RequestState, "request state", state)] if state is not None else None
        if model is not None:
            check_name("model", model)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_REQUESTS:
            raise InvalidInput(f"limit must be from 1 to {MAX_REQUESTS}")
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.REQUEST_READ, project, EntityKind.PROJECT, project
            )
            return tx.models.list_requests([project], states, model, limit)

    def _review(
        self,
        who: Principal,
        request_id: str,
        kind: ReviewKind,
        text: str,
        override_reason: str | None = None,
    ) -> PromotionRequest:
        text = check_text("text", text)
        if override_reason is not None:
            override_reason = check_text("override reason", override_reason).strip()
            if not override_reason:
                raise InvalidInput("an override needs a written reason")
        with self.write() as tx:
            mid, vid, req = self._request(tx, request_id, lock=True)
            action = {
                ReviewKind.APPROVE: Action.PROMOTION_APPROVE,
                ReviewKind.REJECT: Action.PROMOTION_APPROVE,
                ReviewKind.WITHDRAW: Action.PROMOTION_REQUEST,
                ReviewKind.COMMENT: Action.REQUEST_UPDATE,
            }[kind]
            roles = self.require_in_project(
                tx, who, action, req.project, EntityKind.REQUEST, req.id
            )
            if req.state is not RequestState.OPEN and kind is not ReviewKind.COMMENT:
                raise Conflict(f"request {req.id} is {req.state.value}; only open requests change")
            now = utcnow()
            review = Review(who.user, kind, text, now, tuple(sorted(roles)))
            event: str = kind.value
            if (
                kind is ReviewKind.WITHDRAW
                and who.user != req.requester
                and Role.ADMIN not in roles
            ):
                raise PermissionDenied(
                    f"only the requester ({req.requester}) or an admin withdraws request {req.id}"
                )
            if kind in (ReviewKind.APPROVE, ReviewKind.REJECT):
                self._check_reviewer(tx, who, roles, req, mid, vid)
            tx.models.add_review(req.id, review)
            audit_action: Any = {
                ReviewKind.APPROVE: Action.PROMOTION_APPROVE,
                ReviewKind.REJECT: Event.REQUEST_REJECT,
                ReviewKind.WITHDRAW: Event.REQUEST_WITHDRAW,
                ReviewKind.COMMENT: Event.REQUEST_COMMENT,
            }[kind]
            payload: dict[str, Any] = {"request": req.id, "text": text}
            if kind is ReviewKind.REJECT:
                tx.models.decide(req.id, RequestState.REJECTED, who.user, now)
            elif kind is ReviewKind.WITHDRAW:
                tx.models.decide(req.id, RequestState.WITHDRAWN, who.user, now)
            elif kind is ReviewKind.APPROVE:
                applied = self._maybe_apply(tx, who, roles, req, mid, vid, override_reason, now)
                payload["applied"] = applied
                payload["hold"] = req.hold
                event = "applied" if applied else "approved"
            self.record(
                tx, who, roles, audit_action, req.project, EntityKind.REQUEST, req.id, payload
            )
            updated = tx.models.get_request(req.id)
            assert updated is not None
            pending = self.notifications.enqueue(
                tx, model_request_event(updated[2], event, who.user)
            )
        self._send(pending)
        return updated[2]

    def _check_reviewer(
        self,
        tx: Transaction,
        who: Principal,
        roles: frozenset[str],
        req: PromotionRequest,
        mid: int,
        vid: int,
    ) -> None:
        policy = self._policy(tx, req.project)
        rule = policy.rule(req.alias)
        if rule is None:
            raise Conflict(
                f"alias {req.alias!r} is no longer protected; withdraw request {req.id} and set "
                "the alias directly"
            )
        if rule.approvers.isdisjoint(roles):
            wanted = ", ".join(sorted(rule.approvers))
            raise PermissionDenied(
                f"approving a move of {req.alias!r} needs one of the roles: {wanted} "
                f"(project {req.project!r}'s policy)"
            )
        if policy.separation_of_duties:
            if who.user == req.requester:
                raise PermissionDenied(
                    f"separation of duties: {who.user} opened request {req.id} and may not "
                    "review it; another approver must"
                )
            found = tx.models.find_version(req.project, req.model, req.version, None)
            run_id = found[1].run_id if found else None
            if run_id is not None:
                run = tx.tracking.get_run(run_id)
                if run is not None and run.user == who.user:
                    raise PermissionDenied(
                        f"separation of duties: {who.user} ran {run_id}, which trained "
                        f"{req.ref}, and may not review its promotion; another approver must"
                    )
        if any(r.user == who.user and r.kind is ReviewKind.APPROVE for r in req.reviews):
            raise Conflict(f"{who.user} has already approved request {req.id}")

    def _maybe_apply(
        self,
        tx: Transaction,
        who: Principal,
        roles: frozenset[str],
        req: PromotionRequest,
        mid: int,
        vid: int,
        override_reason: str | None,
        now: Any,
    ) -> bool:
        """Apply the request if this approval completes it: the alias moves, in this
        transaction, and the request is `applied`. Failed evidence blocks unless the policy
        allows an override and the approver wrote why."""
        policy = self._policy(tx, req.project)
        rule = policy.rule(req.alias)
        assert rule is not None
        failed = req.failed_evidence
        if failed:
            names = ", ".join(e.name.value for e in failed)
            if not rule.allow_override:
                raise Unprocessable(
                    f"request {req.id} has failed evidence ({names}) and the policy allows no "
                    f"override for {req.alias!r}; reject it, or fix the cause and open a new one"
                )
            if override_reason is None:
                raise Unprocessable(
                    f"request {req.id} has failed evidence ({names}); approving it overrides "
                    "that and needs a written reason (--override-reason)"
                )
        approvers = {r.user for r in req.reviews if r.kind is ReviewKind.APPROVE} | {who.user}
        if len(approvers) < rule.approvals:
            return False
        if req.hold is not None:
            # a loop's request: approved now, applied by the loop when its canary wins
            if not tx.models.decide(req.id, RequestState.APPROVED, who.user, now, override_reason):
                raise Conflict(f"request {req.id} was decided meanwhile")
            return False
        self._move_alias(tx, who, roles, req, mid, vid, override_reason, now, who.user)
        if not tx.models.decide(req.id, RequestState.APPLIED, who.user, now, override_reason):
            raise Conflict(f"request {req.id} was decided meanwhile")
        return True

    def _move_alias(
        self,
        tx: Transaction,
        who: Principal,
        roles: frozenset[str],
        req: PromotionRequest,
        mid: int,
        vid: int,
        override_reason: str | None,
        now: Any,
        approved_by: str,
    ) -> None:
        """Move the request's alias to its version, if the alias still has the holder the
        evidence compared against; audited as `alias.move` naming the request."""
        holder = tx.models.alias_holder(mid, req.alias, lock=True)
        if holder != req.holder_version:
            raise Conflict(
                f"alias {req.alias!r} moved since request {req.id} opened (now "
                f"{req.model}@{holder}); its evidence compared against another holder: reject "
                "it and open a new one"
            )
        move = AliasMove(
            req.project, req.model, req.alias, holder, req.version, approved_by, now, req.note,
            req.id,
        )  # fmt: skip
        tx.models.move_alias(mid, req.alias, vid, move)
        payload = {
            "alias": req.alias,
            "from": holder,
            "to": req.version,
            "request": req.id,
            "override_reason": override_reason,
            "approved_by": approved_by,
            "hold": req.hold,
        }
        self.record(
            tx, who, roles, Event.ALIAS_MOVE, req.project, EntityKind.MODEL, req.ref, payload
        )

    def _apply_held(
        self, tx: Transaction, who: Principal, roles: frozenset[str], request_id: str
    ) -> tuple[PromotionRequest, list[Pending]]:
        """Apply an approved request a loop holds (its canary won): the alias moves, in `tx`,
        in the name of the approver who completed it; the request becomes `applied`."""
        mid, vid, req = self._request(tx, request_id, lock=True)
        if req.state is not RequestState.APPROVED or req.hold is None:
            raise Conflict(
                f"request {req.id} is {req.state.value}; only an approved request a loop holds "
                "is applied by its loop"
            )
        now = utcnow()
        self._move_alias(
            tx, who, roles, req, mid, vid, req.override_reason, now, req.decided_by or who.user
        )
        if not tx.models.settle(req.id, RequestState.APPLIED):
            raise Conflict(f"request {req.id} was settled meanwhile")
        applied = self._request(tx, request_id)[2]
        return applied, self.notifications.enqueue(
            tx, model_request_event(applied, "applied", who.user)
        )

    def _close_held(
        self, tx: Transaction, who: Principal, roles: frozenset[str], request_id: str, why: str
    ) -> tuple[PromotionRequest, list[Pending]]:
        """Withdraw a loop's request that is open or approved (its canary lost, or the loop
        stopped), with `why` as the withdrawal's text; the alias does not move."""
        _, _, req = self._request(tx, request_id, lock=True)
        if req.state not in (RequestState.OPEN, RequestState.APPROVED):
            return req, []
        now = utcnow()
        tx.models.add_review(
            req.id, Review(who.user, ReviewKind.WITHDRAW, why, now, tuple(sorted(roles)))
        )
        if req.state is RequestState.OPEN:
            done = tx.models.decide(req.id, RequestState.WITHDRAWN, who.user, now)
        else:
            done = tx.models.settle(req.id, RequestState.WITHDRAWN)
        if not done:
            raise Conflict(f"request {req.id} was decided meanwhile")
        payload = {"request": req.id, "text": why, "hold": req.hold}
        self.record(
            tx, who, roles, Event.REQUEST_WITHDRAW, req.project, EntityKind.REQUEST, req.id,
            payload,
        )  # fmt: skip
        closed = self._request(tx, request_id)[2]
        return closed, self.notifications.enqueue(
            tx, model_request_event(closed, "withdraw", who.user)
        )

    def approve(
        self,
        who: Principal,
        request_id: str,
        note: str = "",
        override_reason: str | None = None,
    ) -> PromotionRequest:
        """Approve; the approval that meets the policy's count moves the alias at once."""
        return self._review(who, request_id, ReviewKind.APPROVE, note, override_reason)

    def reject(self, who: Principal, request_id: str, reason: str) -> PromotionRequest:
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInput("a rejection needs a reason the requester can act on")
        return self._review(who, request_id, ReviewKind.REJECT, reason)

    def withdraw(self, who: Principal, request_id: str, reason: str = "") -> PromotionRequest:
        return self._review(who, request_id, ReviewKind.WITHDRAW, reason)

    def comment(self, who: Principal, request_id: str, text: str) -> PromotionRequest:
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("a comment needs text")
        return self._review(who, request_id, ReviewKind.COMMENT, text)

    # the inbox ---------------------------------------------------------------------------
    def inbox(self, who: Principal, project: str | None = None) -> list[InboxItem]:
        """What waits for the caller's roles: promotion requests they may approve (not their
        own), quarantined dataset versions for those who may release them, and the live alerts
        of monitors their roles own."""
        if project is not None:
            check_name("project", project)
        items: list[InboxItem] = []
        with self.read() as tx:
            projects = (
                [project]
                if project is not None
                else sorted(p.name for p in tx.identity.list_projects())
            )
            for p in projects:
                roles = self.roles(tx, who.user, p)
                if not roles:
                    continue
                table = self.table(tx, p)
                policy = self._policy(tx, p)
                approves = table.allows(roles, Action.PROMOTION_APPROVE)
                for req in tx.models.list_requests([p], [RequestState.OPEN], None, MAX_REQUESTS):
                    rule = policy.rule(req.alias)
                    mine = req.requester == who.user
                    if (
                        rule is not None
                        and approves
                        and not rule.approvers.isdisjoint(roles)
                        and not mine
                        and not any(
                            r.user == who.user and r.kind is ReviewKind.APPROVE for r in req.reviews
                        )
                    ):
                        failed = [e.name.value for e in req.failed_evidence]
                        title = (
                            f"promote {req.ref} to {req.alias} (by {req.requester}"
                            + (f"; failed evidence: {', '.join(failed)}" if failed else "")
                            + ")"
                        )
                        items.append(
                            InboxItem(
                                "promotion_request", p, req.id, title, req.created_at, req.requester
                            )
                        )
                if table.allows(roles, Action.DATASET_RELEASE):
                    for info in tx.datasets.list_datasets(p):
                        for v in tx.datasets.versions(p, info.name):
                            if v.status is DatasetStatus.QUARANTINED:
                                items.append(
                                    InboxItem(
                                        "quarantined_dataset",
                                        p,
                                        v.ref,
                                        f"dataset {v.ref} is quarantined: "
                                        + (", ".join(v.failed_checks()) or "failed checks"),
                                        v.created_at,
                                        v.created_by,
                                    )
                                )
                if table.allows(roles, Action.MONITOR_READ):
                    items.extend(alert_items(tx, p, roles))
        return sorted(items, key=lambda i: i.created_at, reverse=True)
