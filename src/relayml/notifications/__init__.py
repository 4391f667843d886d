"""Signed, retried webhook delivery for platform events (`relayml.domain.notifications.Event`).

`signing` makes and checks the `Relay-Signature` header; `delivery` POSTs an event one attempt
at a time and gives the retry schedule; the service records each attempt and when the next is
due (`services/notifications.py`). This package knows nothing of storage: it imports only `domain`.
"""

from __future__ import annotations

from relayml.notifications.delivery import Attempt, deliver, post, retry_delay
from relayml.notifications.signing import SIGNATURE_HEADER, new_secret, sign, verify

__all__ = [
    "SIGNATURE_HEADER",
    "Attempt",
    "deliver",
    "new_secret",
    "post",
    "retry_delay",
    "sign",
    "verify",
]
