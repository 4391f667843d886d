"""The `audit` area's operations, `AuditApi`: each one its service
method (`op`, `client/ops.py`), bound in-process by `client.local` and sent by its route
in `client/http/audit.py`."""

from __future__ import annotations

from relayml.client.ops import op
from relayml.services.audit import AuditService


class AuditApi:
    """`services.audit`: the hash-chained, MACed audit trail and its checkpoints."""

    log = op(AuditService.log)
    verify = op(AuditService.verify)
    checkpoint = op(AuditService.checkpoint)
