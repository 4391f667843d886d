"""Signed, retried webhook delivery for platform events (`relayml.domain.notifications.Event`).

`signing` makes and checks the `Relay-Signature` header; `delivery` POSTs an event with bounded,
exponentially backed-off retries and reports every attempt to its caller, which records it
(`services/notifications.py`). This package knows nothing of storage: it imports only `domain`.
"""

from __future__ import annotations

from relayml.notifications.delivery import Attempt, deliver
from relayml.notifications.signing import SIGNATURE_HEADER, new_secret, sign, verify

__all__ = ["SIGNATURE_HEADER", "Attempt", "deliver", "new_secret", "sign", "verify"]
