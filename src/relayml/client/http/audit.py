"""`AuditApi` over REST: the audit trail, its verification and checkpoints."""

from __future__ import annotations

from relayml.client.http.binding import Route, get, no_body, post

ROUTES: dict[str, Route] = {
    "log": get("/audit"),
    "verify": get("/audit/verify"),
    "checkpoint": post("/audit/checkpoints", body=no_body),
}
