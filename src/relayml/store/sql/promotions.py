"""Promotion requests in SQL, with their reviews and evidence: part of the model registry's
repository (`SqlModels`, `tx.models`, is composed of it), as `services/promotions.py` is part
of the registry's service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from relayml.domain.models import (
    Evidence,
    EvidenceItem,
    PromotionRequest,
    RequestState,
    Review,
    ReviewKind,
)
from relayml.store.sql import schema as s
from relayml.store.sql._util import utc, utc_or_none


def _evidence_out(items: tuple[EvidenceItem, ...]) -> list[dict[str, Any]]:
    return [
        {
            "name": e.name.value,
            "ok": e.ok,
            "required": e.required,
            "summary": e.summary,
            "details": e.details,
        }
        for e in items
    ]


def _evidence_in(rows: list[dict[str, Any]]) -> tuple[EvidenceItem, ...]:
    return tuple(
        EvidenceItem(
            Evidence(r["name"]),
            bool(r["ok"]),
            bool(r["required"]),
            r["summary"],
            dict(r.get("details") or {}),
        )
        for r in rows
    )


class SqlPromotions:
    """`SqlModels`' promotion requests (on its connection)."""

    conn: Connection

    def insert_request(self, req: PromotionRequest, model_id: int, version_id: int) -> None:
        self.conn.execute(
            insert(s.promotion_requests).values(
                id=req.id,
                project=req.project,
                model_id=model_id,
                version_id=version_id,
                alias=req.alias,
                state=req.state.value,
                requester=req.requester,
                note=req.note,
                created_at=req.created_at,
                holder_version=req.holder_version,
                policy_version=req.policy_version,
                evidence=_evidence_out(req.evidence),
                hold=req.hold,
            )
        )

    def _request_query(self) -> Any:
        r, m, v = s.promotion_requests.c, s.models.c, s.model_versions.c
        return select(
            s.promotion_requests, m.name.label("model_name"), v.version.label("version")
        ).select_from(
            s.promotion_requests.join(s.models, m.id == r.model_id).join(
                s.model_versions, v.id == r.version_id
            )
        )

    def _reviews(self, ids: list[str]) -> dict[str, tuple[Review, ...]]:
        if not ids:
            return {}
        rv = s.request_reviews.c
        q = select(s.request_reviews).where(rv.request_id.in_(ids)).order_by(rv.id)
        out: dict[str, list[Review]] = {}
        for row in self.conn.execute(q):
            out.setdefault(row.request_id, []).append(
                Review(row.user, ReviewKind(row.kind), row.text, utc(row.at), tuple(row.roles))
            )
        return {k: tuple(v) for k, v in out.items()}

    def _request(self, row: Row[Any], reviews: tuple[Review, ...]) -> PromotionRequest:
        return PromotionRequest(
            id=row.id,
            project=row.project,
            model=row.model_name,
            version=int(row.version),
            alias=row.alias,
            state=RequestState(row.state),
            requester=row.requester,
            note=row.note,
            created_at=utc(row.created_at),
            holder_version=row.holder_version,
            policy_version=int(row.policy_version),
            evidence=_evidence_in(list(row.evidence or [])),
            reviews=reviews,
            decided_by=row.decided_by,
            decided_at=utc_or_none(row.decided_at),
            override_reason=row.override_reason,
            hold=row.hold,
        )

    def get_request(
        self, request_id: str, lock: bool = False
    ) -> tuple[int, int, PromotionRequest] | None:
        """(model id, version id, request); `lock` takes its row lock on PostgreSQL."""
        q = self._request_query().where(s.promotion_requests.c.id == request_id)
        if lock and self.conn.dialect.name == "postgresql":
            q = q.with_for_update(of=s.promotion_requests)
        row = self.conn.execute(q).first()
        if row is None:
            return None
        req = self._request(row, self._reviews([row.id]).get(row.id, ()))
        return int(row.model_id), int(row.version_id), req

    def list_requests(
        self,
        projects: list[str] | None,
        states: list[RequestState] | None = None,
        model: str | None = None,
        limit: int = 100,
    ) -> list[PromotionRequest]:
        r, m = s.promotion_requests.c, s.models.c
        q = self._request_query().order_by(r.created_at.desc(), r.id.desc()).limit(limit)
        if projects is not None:
            q = q.where(r.project.in_(projects))
        if states:
            q = q.where(r.state.in_([x.value for x in states]))
        if model is not None:
            q = q.where(m.name == model)
        rows = list(self.conn.execute(q))
        reviews = self._reviews([row.id for row in rows])
        return [self._request(row, reviews.get(row.id, ())) for row in rows]

    def add_review(self, request_id: str, review: Review) -> None:
        self.conn.execute(
            insert(s.request_reviews).values(
                request_id=request_id,
                user=review.user,
                kind=review.kind.value,
                text=review.text,
                roles=list(review.roles),
                at=review.at,
            )
        )

    def decide(
        self,
        request_id: str,
        state: RequestState,
        by: str,
        now: datetime,
        override_reason: str | None = None,
    ) -> bool:
        """Move an open request to `state`; False if it was no longer open."""
        r = s.promotion_requests.c
        done = self.conn.execute(
            update(s.promotion_requests)
            .where(r.id == request_id, r.state == RequestState.OPEN.value)
            .values(
                state=state.value, decided_by=by, decided_at=now, override_reason=override_reason
            )
        )
        return bool(done.rowcount)

    def settle(self, request_id: str, state: RequestState) -> bool:
        r = s.promotion_requests.c
        done = self.conn.execute(
            update(s.promotion_requests)
            .where(r.id == request_id, r.state == RequestState.APPROVED.value)
            .values(state=state.value)
        )
        return bool(done.rowcount)
