"""Web UI sessions: a sign-in with a token opens one, every page asks who it stands for.

The cookie carries a random 256-bit session id; the store keeps only its SHA-256, with the
token the user signed in with. A session stands for its user while it has not been signed out,
has not expired (`SESSION_LIFETIME`, never past its token's own expiry), its token is neither
revoked nor expired and its user is active; their roles are read fresh on every request (two
statements, no cache), so a revoked token or a removed grant ends what the page may do at once.
The CSRF token of a form is derived from the session id (`csrf_token`): a page that holds the
cookie's secret can compute it, a cross-site form cannot.

A session also ends after `idle_after` without a request (default `SESSION_IDLE_AFTER`, 30
minutes; `RELAY_UI_IDLE_MINUTES`): the first request after that ends it (`end_reason` 'idle',
audited as `session.close` with reason 'idle') and is told so. Its last activity is written at
most once a `SESSION_SEEN_EVERY` (a conditional UPDATE, not a write per request), so it ends
between `idle_after` and a minute later, never before.

Rows of sessions that ended (expired or signed out) more than `FORGET_AFTER` ago are deleted
by the next sign-in, in its transaction; until then a stale cookie is told why its session
ended rather than that it is unknown. The deletion is not audited on its own: each session's
opening (with its expiry) and its sign-out or idle end are already events, and the row holds
nothing more but its last activity.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from relayml.domain.audit import Event
from relayml.domain.identity import (
    SESSION_IDLE_AFTER,
    SESSION_LIFETIME,
    SESSION_SEEN_EVERY,
    Principal,
    SessionInfo,
)
from relayml.errors import InvalidInput, Unauthenticated
from relayml.services.base import ServiceBase, utcnow
from relayml.services.denials import DenialLimiter
from relayml.services.identity import check_usable, hash_token, principal_of, record_about_user
from relayml.store.artifacts import ArtifactStore
from relayml.store.base import MetadataStore

_SIGNED_OUT = "your session has ended ({why}); sign in again with your token"
_IDLE = "you were signed out after {minutes} without activity; sign in again with your token"
MAX_IDLE_MINUTES = int(SESSION_LIFETIME.total_seconds() // 60)
FORGET_AFTER = timedelta(days=1)


def session_hash(session_id: str) -> str:
    return hashlib.sha256(b"relay-ui-session:" + session_id.encode()).hexdigest()


def csrf_token(session_id: str) -> str:
    """The CSRF token of a session's forms: derived from its secret id, never stored; another
    site can neither read the cookie nor compute it."""
    return hashlib.sha256(b"relay-ui-csrf:" + session_id.encode()).hexdigest()


def csrf_matches(session_id: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(csrf_token(session_id), given or "")


@dataclass(frozen=True)
class OpenedSession:
    """A new session as shown once (its id goes into the cookie, never anywhere else)."""

    id: str
    user: str
    expires_at: datetime


def idle_limit(minutes: float | None) -> timedelta:
    """The idle limit for `minutes` (None: the default), refused outside 1 to the lifetime."""
    if minutes is None:
        return SESSION_IDLE_AFTER
    if isinstance(minutes, bool) or not 1 <= minutes <= MAX_IDLE_MINUTES:
        raise InvalidInput(
            f"the web UI's idle limit (RELAY_UI_IDLE_MINUTES) must be 1 to {MAX_IDLE_MINUTES} "
            f"minutes (a session's lifetime), not {minutes!r}"
        )
    return timedelta(minutes=minutes)


def _minutes(limit: timedelta) -> str:
    n = limit.total_seconds() / 60
    return "1 minute" if n == 1 else f"{n:g} minutes"


class SessionService(ServiceBase):
    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        denials: DenialLimiter | None = None,
        idle_after: timedelta = SESSION_IDLE_AFTER,
    ) -> None:
        super().__init__(store, artifacts, denials)
        self.idle_after = idle_after

    def sign_in(self, token: str) -> OpenedSession:
        """Open a session for the holder of `token` (refused as the API refuses the token)."""
        token = token.strip() if isinstance(token, str) else ""
        if not token:
            raise Unauthenticated("enter your token (an admin issues one: relay users create)")
        session_id = secrets.token_urlsafe(32)
        with self.write() as tx:
            found = tx.identity.token_by_hash(hash_token(token))
            if found is None:
                raise Unauthenticated(
                    "the token is unknown; ask an admin for a new one (relay tokens issue USER)"
                )
            info, active = found
            check_usable(info, active)
            who = principal_of(info.user, tx.identity.grants_of(info.user))
            now = utcnow()
            expires = now + SESSION_LIFETIME
            if info.expires_at is not None:
                expires = min(expires, info.expires_at)
            tx.sessions.add(session_hash(session_id), info.id, info.user, now, expires)
            tx.sessions.delete_finished(now - FORGET_AFTER)
            payload = {"token_id": info.id, "expires_at": expires}
            record_about_user(self, tx, who, Event.SESSION_OPEN, info.user, payload)
        return OpenedSession(session_id, info.user, expires)

    def principal(self, session_id: str | None) -> Principal:
        """Who an open session stands for, with their grants as they are now; a session idle
        past the limit is ended here."""
        if not session_id:
            raise Unauthenticated("you are not signed in; sign in with your token")
        id_hash = session_hash(session_id)
        now = utcnow()
        with self.read() as tx:
            found = tx.sessions.find(id_hash)
            if found is None:
                raise Unauthenticated(_SIGNED_OUT.format(why="unknown session"))
            session, token, active = found
            state = session.state(now, self.idle_after)
            if state == "active":
                check_usable(token, active)
                who = principal_of(session.user, tx.identity.grants_of(session.user))
        if state == "idle":
            if session.ended_at is None:
                self._end_idle(id_hash, session, now)
            raise Unauthenticated(_IDLE.format(minutes=_minutes(self.idle_after)))
        if state != "active":
            raise Unauthenticated(_SIGNED_OUT.format(why=state))
        if now - session.last_active >= SESSION_SEEN_EVERY:
            with self.write() as tx:
                tx.sessions.seen(id_hash, now, now - SESSION_SEEN_EVERY)
        return who

    def _end_idle(self, id_hash: str, session: SessionInfo, now: datetime) -> None:
        with self.write() as tx:
            if not tx.sessions.end(id_hash, now, "idle"):
                return  # a request racing this one ended it (or its user signed out)
            who = Principal(session.user, tx.identity.grants_of(session.user))
            payload = {
                "token_id": session.token_id,
                "reason": "idle",
                "last_seen_at": session.last_active,
                "idle_minutes": self.idle_after.total_seconds() / 60,
            }
            record_about_user(self, tx, who, Event.SESSION_CLOSE, session.user, payload)

    def sign_out(self, session_id: str | None) -> bool:
        """End a session; False when there was none to end (unknown, or already ended)."""
        if not session_id:
            return False
        with self.write() as tx:
            found = tx.sessions.find(session_hash(session_id))
            if found is None or not tx.sessions.end(session_hash(session_id), utcnow()):
                return False
            session = found[0]
            who = Principal(session.user, tx.identity.grants_of(session.user))
            record_about_user(
                self, tx, who, Event.SESSION_CLOSE, session.user, {"token_id": session.token_id}
            )
        return True
