"""POST an event to a URL, one attempt at a time, and the schedule retries follow.

`post` makes one signed attempt and says whether another may help; the service records it and
sets the next attempt's time in the database (`retry_delay`), so nobody sleeps between
attempts. `deliver` is the unrecorded loop for callers with no database (the scheduler's
`--webhook` alerts): it sleeps the same schedule.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from relayml.domain.notifications import Event
from relayml.notifications.signing import SIGNATURE_HEADER, sign

ATTEMPTS = 8
BACKOFF = 10.0  # seconds before the 2nd attempt; four times longer before each later one
FACTOR = 4
TIMEOUT = 5.0  # seconds one attempt may take (connect, send, answer)


@dataclass(frozen=True)
class Attempt:
    number: int
    status_code: int | None  # None: no HTTP response (refused, timed out, DNS)
    error: str | None  # None: delivered (2xx)
    final: bool  # no further attempt will be made

    @property
    def delivered(self) -> bool:
        return self.error is None


def retry_delay(number: int, backoff: float = BACKOFF) -> float:
    """Seconds to wait after failed attempt `number` (1-based) before the next one."""
    return float(backoff * FACTOR ** (number - 1))


def post(
    url: str,
    event: Event,
    *,
    secret: str | None,
    delivery_id: str = "",
    number: int = 1,
    attempts: int = ATTEMPTS,
    timeout: float = TIMEOUT,
) -> Attempt:
    """POST `event` once, freshly timestamped and signed (when there is a secret). The attempt
    is final when delivered (2xx), refused in a way retrying cannot fix (4xx other than
    408/429), or the `attempts`-th."""
    import httpx

    body = event.body()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "relay-webhooks/1",
        "Relay-Event": event.kind.value,
        "Relay-Delivery": delivery_id,
        "Relay-Attempt": str(number),
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
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return Attempt(number, code, error, error is None or not retry or number >= attempts)


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
    """`post` until an attempt is final, sleeping `retry_delay` between attempts."""
    last = Attempt(0, None, "not attempted", True)
    for number in range(1, max(1, attempts) + 1):
        last = post(
            url, event, secret=secret, delivery_id=delivery_id, number=number,
            attempts=attempts, timeout=timeout,
        )  # fmt: skip
        if on_attempt is not None:
            on_attempt(last)
        if last.final:
            return last
        time.sleep(retry_delay(number, backoff))
    return last
