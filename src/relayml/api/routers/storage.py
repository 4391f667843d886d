"""Stored bytes: garbage collection of unreferenced blobs and unfinished uploads (admin)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field
from starlette.responses import Response

from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.responses import ERROR_RESPONSES, json
from relayml.api.schemas import Body
from relayml.domain.storage import DEFAULT_GRACE
from relayml.wire.storage import GcReportOut

router = APIRouter(prefix="/api/v1", tags=["storage"], responses=ERROR_RESPONSES)


class GcRequest(Body):
    apply: bool = Field(False, description="remove what is found; false lists it only")
    grace: str = Field(DEFAULT_GRACE, examples=["24h"], description="keep anything younger")


@router.post(
    "/storage/gc",
    response_model=GcReportOut,
    summary="List (or, with apply, remove) unreferenced stored bytes",
)
def gc(body: GcRequest, services: ServicesDep, who: PrincipalDep) -> Response:
    report = services.storage.gc(who, apply=body.apply, grace=body.grace)
    return json(GcReportOut.from_domain(report))
