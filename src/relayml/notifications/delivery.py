"""POST an event to a URL, retrying with exponential backoff, reporting each attempt."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from relayml.domain.notifications import Event
from relayml.notifications.signing import SIGNATURE_HEADER, sign

ATTEMPTS = 4
BACKOFF = 0.5  # seconds before the 2nd attempt; doubled before each later one
TIMEOUT = 5.0


@dataclass(frozen=True)
class Attempt:
    number: int
    status_code: int | None  # None: no HTTP response (refused, timed out, DNS)
    error: str | None  # None: delivered (2xx)
    final: bool  # no further attempt will be made

    @property
    def delivered(self) -> bool:
        return self.error is None


def deliver(
    url: str,
    event: Event,
    *,
    secret: str | None,
    delivery_id: str = "",
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF,
    timeout: float = TIMEOUT,
    on_attempt: Callable[[Attempt], None] | None = None,
) -> Attempt:
    """POST `event` until a 2xx, a refusal that retrying cannot fix (4xx other than 408/429),
    or `attempts` tries; each try is freshly timestamped and signed (when there is a secret)."""
    import httpx

    body = event.body()
    last = Attempt(0, None, "not attempted", True)
    for number in range(1, max(1, attempts) + 1):
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "relay-webhooks/1",
            "Relay-Event": event.kind.value,
            "Relay-Delivery": delivery_id,
        }
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, body, int(time.time()))
        code: int | None = None
        retry = True
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=timeout)
            code = response.status_code
            error = None if response.is_success else f"HTTP {code}"
            retry = not response.is_success and (code >= 500 or code in (408, 429))
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        final = error is None or not retry or number >= attempts
        last = Attempt(number, code, error, final)
        if on_attempt is not None:
            on_attempt(last)
        if final:
            return last
        time.sleep(backoff * 2 ** (number - 1))
    return last
