"""Request ids: a non-idempotent request sent again with the same Idempotency-Key gets the
first attempt's answer instead of doing the work twice.

The key is scoped to the caller (two users never see each other's answers) and bound to the
request it was first used for (method and path): the same key on another request is refused.
An answer is kept for `KEEP` (a day) and only if it is not a server error, so a request that
failed on the server runs again when retried. A first attempt still running answers a retry
with 409 `in_progress` (the client waits and asks again); one whose process died without
answering is taken over after `ABANDONED`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from relayml.domain.identity import Principal
from relayml.errors import Conflict, InvalidInput, Unprocessable
from relayml.services.base import ServiceBase, utcnow

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotency-Replayed"
KEEP = timedelta(days=1)
ABANDONED = timedelta(minutes=5)
MAX_BODY = 1 << 20  # answers larger than this are not kept (the request is not retryable)
_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,128}\Z")


@dataclass(frozen=True)
class Recorded:
    status: int
    body: bytes
    content_type: str


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise InvalidInput(
            f"invalid {KEY_HEADER} {key[:40]!r}: 8 to 128 letters, digits, '_', '.', ':' or '-' "
            "(a UUID will do)"
        )
    return key


class IdempotencyService(ServiceBase):
    def begin(self, who: Principal, key: str, method: str, path: str) -> Recorded | None:
        """Claim `key` for this request (None: go ahead), or the answer it already got."""
        check_key(key)
        now = utcnow()
        with self.store.write() as tx:
            if tx.idempotency.claim(who.user, key, method, path, now):
                return None
            found = tx.idempotency.find(who.user, key)
            if found is None:  # released between the two statements: claim it again
                tx.idempotency.claim(who.user, key, method, path, now)
                return None
            got_method, got_path, status, body, content_type, created = found
            if (got_method, got_path) != (method, path):
                raise Unprocessable(
                    f"{KEY_HEADER} {key!r} was used for {got_method} {got_path}; use a new key "
                    "for each request",
                    idempotency="reused",
                )
            if status is None:
                if now - created < ABANDONED:
                    raise Conflict(
                        f"the first request with {KEY_HEADER} {key!r} is still running; ask "
                        "again in a moment",
                        idempotency="in_progress",
                    )
                tx.idempotency.restart(who.user, key, now)
                return None
            return Recorded(status, body or b"", content_type or "application/json")

    def finish(self, who: Principal, key: str, status: int, body: bytes, content_type: str) -> None:
        """Keep the answer (not a server error, not too large); otherwise let a retry run."""
        with self.store.write() as tx:
            if status >= 500 or len(body) > MAX_BODY:
                tx.idempotency.release(who.user, key)
            else:
                tx.idempotency.finish(who.user, key, status, body, content_type)
            tx.idempotency.expire(utcnow() - KEEP)

    def release(self, who: Principal, key: str) -> None:
        with self.store.write() as tx:
            tx.idempotency.release(who.user, key)
