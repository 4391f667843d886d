"""The `audit` area's client protocol, `AuditApi`: what both backends implement (the
services bound in-process by `client.local`, REST in `client/http/audit.py`)."""

from __future__ import annotations

from relayml.client.ops import op
from relayml.services.audit import AuditService


class AuditApi:
    """`services.audit`: the hash-chained, MACed audit trail and its checkpoints."""

    log = op(AuditService.log)
    verify = op(AuditService.verify)
    checkpoint = op(AuditService.checkpoint)
