"""A project's webhooks and the record of their deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from relayml.api.auth import PrincipalDep, ServicesDep
from relayml.api.bodies import Route
from relayml.api.responses import ERROR_RESPONSES, json
from relayml.wire.notifications import DeliveryOut, WebhookCreatedOut, WebhookOut

router = APIRouter(
    prefix="/api/v1/projects/{project}",
    route_class=Route,
    tags=["notifications"],
    responses=ERROR_RESPONSES,
)


class WebhookCreate(BaseModel):
    url: str = Field(examples=["https://hooks.example.com/relay"])


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreatedOut,
    summary="Add a webhook; its signing secret is in this response only",
)
def add_webhook(
    project: str, body: WebhookCreate, services: ServicesDep, who: PrincipalDep
) -> Response:
    created = WebhookCreatedOut.from_domain(
        services.notifications.add_webhook(who, project, body.url)
    )
    return json(created, status_code=201)


@router.get("/webhooks", response_model=list[WebhookOut], summary="The project's webhooks")
def list_webhooks(project: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(
        [WebhookOut.from_domain(w) for w in services.notifications.list_webhooks(who, project)]
    )


@router.delete("/webhooks/{webhook_id}", status_code=204, summary="Remove a webhook")
def remove_webhook(
    project: str, webhook_id: str, services: ServicesDep, who: PrincipalDep
) -> Response:
    services.notifications.remove_webhook(who, project, webhook_id)
    return Response(status_code=204)


@router.get(
    "/webhook-deliveries",
    response_model=list[DeliveryOut],
    summary="Deliveries to the project's webhooks, most recently updated first",
)
def deliveries(
    project: str,
    services: ServicesDep,
    who: PrincipalDep,
    webhook: Annotated[str | None, Query(description="Only this webhook's")] = None,
    limit: Annotated[int, Query()] = 100,
) -> Response:
    found = services.notifications.deliveries(who, project, webhook, limit)
    return json([DeliveryOut.from_domain(d) for d in found])


@router.post(
    "/webhook-deliveries/{delivery_id}/redeliver",
    response_model=DeliveryOut,
    summary="Send a delivery again now, with a new series of attempts (same delivery id)",
)
def redeliver(project: str, delivery_id: str, services: ServicesDep, who: PrincipalDep) -> Response:
    return json(
        DeliveryOut.from_domain(services.notifications.redeliver(who, project, delivery_id))
    )
