"""Who is acting: roles, principals, names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from relayml.domain.enums import parse_enum
from relayml.errors import InvalidInput

GLOBAL_SCOPE = "*"
"""A grant in this scope applies to every project (the platform admin holds `admin` here)."""

DEFAULT_PROJECT = "default"

DEFAULT_TOKEN_LIFETIME = timedelta(days=90)
"""How long a token lasts when its issuer gives no --expires."""
MAX_TOKEN_LIFETIME = timedelta(days=365)
"""The longest --expires accepted: every token issued ends, and is reissued at least yearly."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")


class Role(StrEnum):
    """The built-in roles. A grant names a role by its name, which is one of these or a custom
    role an admin defined (`domain/roles.py`, `relay roles apply`); sets of role names are
    `frozenset[str]`, and a member here is its own name (`Role.ADMIN == "admin"`)."""

    DATA_ENGINEER = "data_engineer"
    DATA_SCIENTIST = "data_scientist"
    ML_ENGINEER = "ml_engineer"
    MLOPS_ENGINEER = "mlops_engineer"
    DEVOPS_ENGINEER = "devops_engineer"
    MODEL_GOVERNANCE = "model_governance"
    STAKEHOLDER = "stakeholder"
    ADMIN = "admin"


def parse_role(value: object) -> Role:
    """A built-in role from its name; custom roles are checked against a project's role table
    (`RoleTable.require_known`)."""
    return parse_enum(Role, "role", value)


_ROLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


def check_role_name(value: object) -> str:
    """A role name's spelling (whether the role exists depends on where it is used)."""
    if not isinstance(value, str) or not _ROLE_NAME.fullmatch(value):
        raise InvalidInput(
            f"invalid role name {value!r}: a role name is 1-32 lowercase letters, digits or "
            "'_', starting with a letter (e.g. risk_officer)"
        )
    return value


def check_name(kind: str, value: str) -> str:
    """Names of projects, users, experiments: letters, digits, '.', '_', '-'; ≤ 128 chars."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise InvalidInput(
            f"invalid {kind} name {value!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def check_project(value: str) -> str:
    if value == GLOBAL_SCOPE:
        return value
    return check_name("project", value)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller and the names of the roles they hold, per project ('*' = every
    project)."""

    user: str
    grants: dict[str, frozenset[str]] = field(default_factory=dict)

    def roles_in(self, project: str) -> frozenset[str]:
        return self.grants.get(project, frozenset()) | self.grants.get(GLOBAL_SCOPE, frozenset())


@dataclass(frozen=True)
class User:
    name: str
    created_at: datetime
    grants: dict[str, list[str]]  # project -> role names
    active: bool = True


@dataclass(frozen=True)
class Project:
    name: str
    created_at: datetime
    created_by: str
    description: str = ""


@dataclass(frozen=True)
class IssuedToken:
    """A token as shown once at creation; only its hash is stored."""

    user: str
    token: str
    token_id: str
    expires_at: datetime | None = None


@dataclass(frozen=True)
class TokenInfo:
    """What is known about a token without its secret: never the token, nor its hash."""

    id: str
    user: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None = None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


_TOKEN_ID = re.compile(r"[0-9a-f]{1,16}")


def check_token_id(value: object) -> str:
    """A token id as `relay tokens ls` shows it: 12 hex digits (never the secret itself)."""
    if not isinstance(value, str) or not _TOKEN_ID.fullmatch(value):
        raise InvalidInput(
            f"invalid token id {value!r}: a token id is 12 hex digits (relay tokens ls shows them)"
        )
    return value


def token_lifetime(expires: str | float | timedelta | None) -> timedelta:
    """How long a new token lasts: "90d", "12h", "30m", "90s", seconds, or None for the default
    (DEFAULT_TOKEN_LIFETIME); never longer than MAX_TOKEN_LIFETIME."""
    if expires is None:
        return DEFAULT_TOKEN_LIFETIME
    if isinstance(expires, timedelta):
        lifetime = expires
    else:
        from relayml.domain.durations import parse_duration

        try:
            seconds = parse_duration(expires)
        except InvalidInput:
            raise InvalidInput(
                f"invalid token expiry {expires!r}; write e.g. 90d, 12h, 30m or 90s"
            ) from None
        lifetime = timedelta(seconds=seconds or 0)
    if lifetime <= timedelta(0):
        raise InvalidInput(f"token expiry {expires!r} must be positive; write e.g. 90d")
    if lifetime > MAX_TOKEN_LIFETIME:
        raise InvalidInput(
            f"token expiry {expires!r} is longer than the maximum of "
            f"{MAX_TOKEN_LIFETIME.days}d; issue a new token before it ends instead"
        )
    return lifetime


SESSION_LIFETIME = timedelta(hours=12)
"""How long a web UI sign-in lasts (never past the token it was opened with)."""
SESSION_IDLE_AFTER = timedelta(minutes=30)
"""A web UI sign-in ends after this long without a request (RELAY_UI_IDLE_MINUTES)."""
SESSION_SEEN_EVERY = timedelta(minutes=1)
"""A session's last activity is written at most this often, not on every request; so a
session ends between its idle limit and this much later, never before."""
SESSION_ENDS = ("signed out", "idle")
"""Why a session ended before its time (`SessionInfo.end_reason`)."""


@dataclass(frozen=True)
class SessionInfo:
    """A web UI sign-in as stored (never its secret id): whose, opened with which token, when
    it ends on its own, when it was last seen active (written at most once a
    `SESSION_SEEN_EVERY`), and when and why it ended early (signed out, or idle)."""

    user: str
    token_id: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    last_seen_at: datetime | None = None  # None: not since it opened (rows before 0030 too)
    end_reason: str | None = None  # one of SESSION_ENDS once ended (None: signed out)

    @property
    def last_active(self) -> datetime:
        return self.last_seen_at or self.created_at

    def state(self, now: datetime, idle_after: timedelta = SESSION_IDLE_AFTER) -> str:
        """ "active", "signed out", "idle" (ended, or due to end, after `idle_after` without a
        request) or "expired"."""
        if self.ended_at is not None:
            return self.end_reason or "signed out"
        if self.expires_at <= now:
            return "expired"
        # the last activity written may be up to SESSION_SEEN_EVERY older than the last
        # request: only past the limit plus that is the session surely idle for `idle_after`
        if now - self.last_active >= idle_after + SESSION_SEEN_EVERY:
            return "idle"
        return "active"
