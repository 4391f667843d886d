"""Audit: the trail filtered by entity, actor, action and time, paged by sequence number, and
"Verify chain" (a POST: it re-walks the whole hash chain and every MAC, as `relay audit verify
--project` does; the project's governance may, the answer shows no other project's event)."""

from __future__ import annotations

from datetime import datetime

from starlette.responses import Response

from relayml.domain.audit import EntityKind, VerifyResult, audit_actions
from relayml.domain.roles import Action
from relayml.errors import InvalidInput, PermissionDenied
from relayml.ui.web import Area, Context, NavItem

area = Area(NavItem("Audit", "audit", Action.AUDIT_READ, 80))
PAGE = 100
FIELDS = ("entity_kind", "entity_id", "actor", "action", "since", "until")


def _time(text: str, name: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} {text!r} is not a time; pick one (YYYY-MM-DDTHH:MM)") from None


def _page(ctx: Context, verified: VerifyResult | None = None, verify_error: str = "") -> Response:
    filters = {name: ctx.arg(name).strip() for name in FIELDS}
    before_text = ctx.arg("before")
    if before_text and not before_text.isdigit():
        raise InvalidInput(f"before must be an event's sequence number, got {before_text!r}")
    events = ctx.services.audit.log(
        ctx.who,
        project=ctx.project,
        entity_kind=filters["entity_kind"] or None,
        entity_id=filters["entity_id"] or None,
        actor=filters["actor"] or None,
        action=filters["action"] or None,
        since=_time(filters["since"], "since"),
        until=_time(filters["until"], "until"),
        before=int(before_text) if before_text else None,
        limit=PAGE,
    )
    older = ctx.url("audit", **filters, before=events[-1].seq) if len(events) == PAGE else ""
    newest = ctx.url("audit", **filters) if before_text else ""
    return ctx.render(
        "audit/audit.html",
        events=events,
        filters=filters,
        kinds=[k.value for k in EntityKind],
        actions=audit_actions(),
        older_url=older,
        newest_url=newest,
        verified=verified,
        verify_error=verify_error,
    )


@area.get("/p/{project}/audit")
def trail(ctx: Context) -> Response:
    return _page(ctx)


@area.post("/p/{project}/audit/verify")
def verify(ctx: Context) -> Response:
    try:
        result = ctx.services.audit.verify(ctx.who, ctx.project)
    except PermissionDenied as exc:  # a custom role may read the trail without audit.read
        return _page(ctx, verify_error=exc.message)
    return _page(ctx, verified=result)
