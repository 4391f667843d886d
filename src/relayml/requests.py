"""Promotion requests, the hand-off to governance: ``relay.requests.approve / reject / ...``

relay.requests.list(state="open"); relay.requests.approve(request_id, "evidence checked")
"""

from __future__ import annotations

from relayml.sdk.models import approve, comment, inbox, reject, withdraw
from relayml.sdk.models import get_request as get
from relayml.sdk.models import list_requests as list

__all__ = ["approve", "comment", "get", "inbox", "list", "reject", "withdraw"]
