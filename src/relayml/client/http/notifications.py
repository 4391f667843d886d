"""`NotificationsApi` over REST: a project's webhooks and their deliveries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from relayml.client.http.binding import Args, Route, delete, get, no_body, post
from relayml.domain.notifications import check_delivery_id, check_webhook_id


def _deliveries(a: Args) -> Mapping[str, Any]:
    return {"webhook": a["webhook_id"], "limit": a["limit"]}


_DELIVERIES = "/projects/{project}/webhook-deliveries"

ROUTES: dict[str, Route] = {
    "add_webhook": post("/projects/{project}/webhooks"),
    "list_webhooks": get("/projects/{project}/webhooks"),
    "remove_webhook": delete(
        "/projects/{project}/webhooks/{webhook_id}", checks={"webhook_id": check_webhook_id}
    ),
    "deliveries": get(_DELIVERIES, query=_deliveries),
    "redeliver": post(
        _DELIVERIES + "/{delivery_id}/redeliver",
        body=no_body,
        checks={"delivery_id": check_delivery_id},
    ),
}
