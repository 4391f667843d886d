"""Stored bytes: garbage collection of unreferenced blobs and unfinished uploads (admin)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field
from starlette.responses import Response

from relayml import wire
from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.errors import OrjsonResponse
from relayml.api.schemas import Body
from relayml.domain.storage import DEFAULT_GRACE

router = APIRouter(prefix="/api/v1", tags=["storage"])


class GcRequest(Body):
    apply: bool = Field(False, description="remove what is found; false lists it only")
    grace: str = Field(DEFAULT_GRACE, examples=["24h"], description="keep anything younger")


@router.post("/storage/gc", summary="List (or, with apply, remove) unreferenced stored bytes")
def gc(body: GcRequest, services: ServicesDep, who: PrincipalDep) -> Response:
    report = services.storage.gc(who, apply=body.apply, grace=body.grace)
    return OrjsonResponse(wire.gc_out(report))
