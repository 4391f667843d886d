"""The audit trail: read it, verify it, checkpoint it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.bodies import Route
from relayml.api.responses import ERROR_RESPONSES, json
from relayml.wire.audit import AuditEventOut, CheckpointOut, VerifyOut

router = APIRouter(prefix="/api/v1", route_class=Route, tags=["audit"], responses=ERROR_RESPONSES)


@router.get(
    "/audit", response_model=list[AuditEventOut], summary="Audit events, newest first, filtered"
)
def audit_log(
    services: ServicesDep,
    who: PrincipalDep,
    project: Annotated[str | None, Query()] = None,
    entity_kind: Annotated[str | None, Query(examples=["run"])] = None,
    entity_id: Annotated[str | None, Query()] = None,
    actor: Annotated[str | None, Query()] = None,
    action: Annotated[str | None, Query(examples=["run.create"])] = None,
    limit: Annotated[int, Query()] = 100,
    since: Annotated[
        datetime | None, Query(description="At or after this time (ISO 8601; UTC if no zone)")
    ] = None,
    until: Annotated[datetime | None, Query(description="Before this time (ISO 8601)")] = None,
    before: Annotated[
        int | None, Query(description="Below this sequence number: the next page's start")
    ] = None,
) -> Response:
    events = services.audit.log(
        who,
        project=project,
        entity_kind=entity_kind,
        entity_id=entity_id,
        actor=actor,
        action=action,
        limit=limit,
        since=since,
        until=until,
        before=before,
    )
    return json([AuditEventOut.from_domain(e) for e in events])


@router.get(
    "/audit/verify",
    response_model=VerifyOut,
    summary="Check the audit trail's hash chain end to end",
)
def audit_verify(
    services: ServicesDep,
    who: PrincipalDep,
    project: Annotated[
        str | None,
        Query(
            description="Ask as this project's governance (audit.read there): the whole chain "
            "is checked and no event is shown. Without it: audit.read in '*'."
        ),
    ] = None,
) -> Response:
    return json(VerifyOut.from_domain(services.audit.verify(who, project)))


@router.post(
    "/audit/checkpoints",
    response_model=CheckpointOut,
    summary="Export a MACed checkpoint of the audit chain's head now (admin)",
    status_code=201,
)
def audit_checkpoint(services: ServicesDep, who: PrincipalDep) -> Response:
    return json(CheckpointOut.from_domain(services.audit.checkpoint(who)), status_code=201)
