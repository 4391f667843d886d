"""Projects, users, tokens and role grants."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from datetime import timedelta
from typing import Any

from relayml.domain.audit import EntityKind, Event
from relayml.domain.identity import (
    DEFAULT_PROJECT,
    GLOBAL_SCOPE,
    IssuedToken,
    Principal,
    Project,
    Role,
    TokenInfo,
    User,
    check_name,
    check_project,
    check_role_name,
    check_token_id,
    token_lifetime,
)
from relayml.domain.roles import Action
from relayml.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from relayml.services.base import ServiceBase, utcnow
from relayml.services.denials import DenialLimiter
from relayml.services.token_cache import TokenCache
from relayml.store.artifacts import ArtifactStore
from relayml.store.base import MetadataStore, Transaction

TOKEN_PREFIX = "rly_"  # noqa: S105 - a prefix, not a secret


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def check_usable(info: TokenInfo, user_active: bool) -> None:
    """Refuse a revoked or expired token, or one whose user is deactivated."""
    state = info.state(utcnow())
    if state != "active":
        when = info.revoked_at if state == "revoked" else info.expires_at
        raise Unauthenticated(
            f"token {info.id} of {info.user} was {state} at {when:%Y-%m-%d %H:%M:%S} "
            "UTC; ask an admin for a new one (relay tokens issue USER)"
        )
    if not user_active:
        raise Unauthenticated(
            f"user {info.user} is deactivated; an admin reactivates them with: "
            f"relay users activate {info.user}"
        )


def principal_of(user: str, grants: dict[str, frozenset[str]]) -> Principal:
    """The principal of a user holding `grants`; refused when they hold no role at all."""
    if not grants:
        raise Unauthenticated(
            f"{user} holds no role in any project; ask an admin to grant one "
            f"(relay users grant {user} --role ROLE --project PROJECT)"
        )
    return Principal(user, grants)


class IdentityService(ServiceBase):
    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        token_cache: TokenCache | None = None,
        *,
        denials: DenialLimiter | None = None,
    ) -> None:
        super().__init__(store, artifacts, denials)
        self.token_cache = token_cache if token_cache is not None else TokenCache()

    def authenticate(self, token: str | None) -> Principal:
        """The principal a bearer token stands for. Answered from the token cache when it can
        (no database read); a revoked or expired token, a deactivated user or one holding no
        role is refused within the cache's TTL."""
        if not token:
            raise Unauthenticated(
                "no token given; send 'Authorization: Bearer <token>' (set RELAY_TOKEN for the "
                "SDK and CLI). An admin creates one with: relay users create NAME --role ROLE"
            )
        token_hash = hash_token(token)
        cached = self.token_cache.get(token_hash)
        if cached is not None:
            return cached
        with self.read() as tx:
            found = tx.identity.token_by_hash(token_hash)
            if found is None:
                raise Unauthenticated(
                    "the token is unknown; ask an admin for a new one (relay tokens issue USER)"
                )
            info, active = found
            check_usable(info, active)
            grants = tx.identity.grants_of(info.user)
        principal = principal_of(info.user, grants)
        self.token_cache.put(token_hash, principal, info.expires_at)
        return principal

    def provision_local(self, user: str) -> Principal:
        """Embedded mode: the OS user, created on first use as admin of every project."""
        check_name("user", user)
        try:
            return self._provision(user)
        except Conflict:  # another process provisioned the same user a moment ago
            return self._provision(user)

    def _provision(self, user: str) -> Principal:
        with self.write() as tx:
            if not tx.identity.user_exists(user):
                now = utcnow()
                tx.identity.create_user(user, now)
                tx.identity.add_grant(user, GLOBAL_SCOPE, Role.ADMIN, user, now)
                me = Principal(user)
                admin = frozenset({Role.ADMIN})
                self.record(
                    tx, me, admin, Event.USER_PROVISION, GLOBAL_SCOPE, EntityKind.USER, user, {}
                )
                if tx.identity.create_project(DEFAULT_PROJECT, "", user, now):
                    payload = {"name": DEFAULT_PROJECT}
                    self.record(
                        tx,
                        me,
                        admin,
                        Action.PROJECT_CREATE,
                        DEFAULT_PROJECT,
                        EntityKind.PROJECT,
                        DEFAULT_PROJECT,
                        payload,
                    )
            return Principal(user, tx.identity.grants_of(user))

    def whoami(self, who: Principal) -> dict[str, Any]:
        with self.read() as tx:
            grants = tx.identity.grants_of(who.user)
        return {
            "user": who.user,
            "grants": {p: sorted(g) for p, g in grants.items()},
        }

    # projects ----------------------------------------------------------------------------
    def create_project(self, who: Principal, name: str, description: str = "") -> Project:
        check_name("project", name)
        with self.write() as tx:
            roles = self.require(
                tx, who, Action.PROJECT_CREATE, GLOBAL_SCOPE, EntityKind.PROJECT, name
            )
            if not tx.identity.create_project(name, description, who.user, utcnow()):
                raise Conflict(f"project {name!r} already exists; use it, or pick another name")
            payload = {"name": name, "description": description}
            self.record(
                tx, who, roles, Action.PROJECT_CREATE, name, EntityKind.PROJECT, name, payload
            )
            project = tx.identity.get_project(name)
        assert project is not None
        return project

    def ensure_project(self, who: Principal, name: str) -> Project:
        """Return the project, creating it first if the caller may (an admin's first use)."""
        check_name("project", name)
        with self.read() as tx:
            found = tx.identity.get_project(name)
            if found is not None:
                self.require(tx, who, Action.PROJECT_READ, name, EntityKind.PROJECT, name)
                return found
            mine = self.roles(tx, who.user, GLOBAL_SCOPE)
            if not self.allowed(tx, mine, Action.PROJECT_CREATE, GLOBAL_SCOPE):
                raise NotFound(
                    f"no project {name!r}; check the name (relay projects ls), or ask an admin "
                    f"to create it (relay projects create {name})"
                )
        try:
            return self.create_project(who, name)
        except Conflict:
            with self.read() as tx:
                again = tx.identity.get_project(name)
            assert again is not None
            return again

    def get_project(self, who: Principal, name: str) -> Project:
        with self.read() as tx:
            self.require(tx, who, Action.PROJECT_READ, name, EntityKind.PROJECT, name)
            project = tx.identity.get_project(name)
        if project is None:
            raise NotFound(f"no project {name!r}; list them with: relay projects ls")
        return project

    def list_projects(self, who: Principal) -> list[Project]:
        with self.read() as tx:
            grants = tx.identity.grants_of(who.user)
            projects = tx.identity.list_projects()
        if GLOBAL_SCOPE in grants:
            return projects
        return [p for p in projects if p.name in grants]

    # users & grants ----------------------------------------------------------------------
    def create_user(
        self,
        who: Principal,
        name: str,
        roles: list[str],
        project: str = DEFAULT_PROJECT,
        expires: str | float | timedelta | None = None,
    ) -> IssuedToken:
        check_name("user", name)
        check_project(project)
        lifetime = token_lifetime(expires)
        if not isinstance(roles, list) or not roles:
            raise InvalidInput("give the new user at least one role (--role ROLE)")
        parsed = sorted({check_role_name(r) for r in roles})
        with self.read() as tx:  # before the project is made: a new one has the installation's
            table = self.table(tx, project)
            for role in parsed:
                table.require_known(role, _where(project))
        if project != GLOBAL_SCOPE:
            self.ensure_project(who, project)
        with self.write() as tx:
            mine = self.require(tx, who, Action.USER_MANAGE, project, EntityKind.USER, name)
            table = self.table(tx, project)
            for role in parsed:
                table.require_known(role, _where(project))
            if tx.identity.user_exists(name):
                raise Conflict(
                    f"user {name!r} already exists; grant roles with relay users grant {name} "
                    "--role ROLE"
                )
            now = utcnow()
            tx.identity.create_user(name, now)
            for role in parsed:
                tx.identity.add_grant(name, project, role, who.user, now)
            issued = self._issue(tx, name, lifetime)
            payload = {"name": name, "project": project, "roles": parsed}
            self.record(tx, who, mine, Action.USER_MANAGE, project, EntityKind.USER, name, payload)
            token_payload = {"token_id": issued.token_id, "expires_at": issued.expires_at}
            self.record(
                tx, who, mine, Event.TOKEN_ISSUE, project, EntityKind.USER, name, token_payload
            )
        return issued

    def _issue(self, tx: Transaction, user: str, lifetime: timedelta) -> IssuedToken:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(6)
        now = utcnow()
        expires_at = now + lifetime
        tx.identity.add_token(token_id, user, hash_token(token), now, expires_at)
        return IssuedToken(user=user, token=token, token_id=token_id, expires_at=expires_at)

    def _record_about_user(
        self, tx: Transaction, who: Principal, action: Event, user: str, payload: Any
    ) -> None:
        record_about_user(self, tx, who, action, user, payload)

    def _require_self_or_admin(self, tx: Transaction, who: Principal, user: str, what: str) -> None:
        """Anyone for their own tokens (while they hold a role), a platform admin for anyone."""
        if user != who.user:
            self.require(tx, who, Action.USER_MANAGE, GLOBAL_SCOPE, EntityKind.USER, user)
        elif not tx.identity.grants_of(user):
            raise PermissionDenied(
                f"{user} holds no role in any project, so cannot {what}; ask an admin to grant "
                f"one (relay users grant {user} --role ROLE --project PROJECT)",
                user=user,
            )

    def issue_token(
        self, who: Principal, user: str, expires: str | float | timedelta | None = None
    ) -> IssuedToken:
        """A new token for `user`: anyone for themselves, a platform admin for anyone. It
        expires after `expires` (default DEFAULT_TOKEN_LIFETIME, at most MAX_TOKEN_LIFETIME)."""
        lifetime = token_lifetime(expires)
        with self.write() as tx:
            self._require_self_or_admin(tx, who, user, "mint tokens")
            found = tx.identity.get_user(user)
            if found is None:
                raise NotFound(f"no user {user!r}; create one with relay users create {user}")
            if not found.active:
                raise Conflict(
                    f"user {user} is deactivated; reactivate them first (relay users activate "
                    f"{user})"
                )
            issued = self._issue(tx, user, lifetime)
            payload = {"token_id": issued.token_id, "expires_at": issued.expires_at}
            self._record_about_user(tx, who, Event.TOKEN_ISSUE, user, payload)
        return issued

    def list_tokens(self, who: Principal, user: str | None = None) -> list[TokenInfo]:
        """Tokens (never their secrets): your own, or anyone's for a platform admin, for whom
        user=None means everyone's (for anyone else, their own)."""
        with self.read() as tx:
            if user is None:
                mine = self.roles(tx, who.user, GLOBAL_SCOPE)
                admin = self.allowed(tx, mine, Action.USER_MANAGE, GLOBAL_SCOPE)
                user = None if admin else who.user
            if user is not None:
                self._require_self_or_admin(tx, who, user, "list tokens")
            return tx.identity.list_tokens(user)

    def revoke_token(self, who: Principal, token_id: str) -> TokenInfo:
        """Revoke a token at once in this process, and within the token cache's TTL in every
        other. Revoking a revoked token changes nothing."""
        check_token_id(token_id)
        with self.write() as tx:
            found = tx.identity.get_token(token_id)
            # someone else's token: only a platform admin learns whether it exists
            owner = found.user if found is not None else None
            if owner != who.user:
                self.require(
                    tx, who, Action.USER_MANAGE, GLOBAL_SCOPE, EntityKind.USER, owner or "*"
                )
            if found is None:
                raise NotFound(f"no token {token_id!r}; list them with: relay tokens ls")
            if tx.identity.revoke_token(token_id, utcnow()):
                self._record_about_user(
                    tx, who, Event.TOKEN_REVOKE, found.user, {"token_id": token_id}
                )
            info = tx.identity.get_token(token_id)
        self.token_cache.clear()
        assert info is not None
        return info

    def set_user_active(self, who: Principal, user: str, active: bool) -> User:
        """Deactivate a user (none of their tokens authenticates, within the token cache's TTL)
        or reactivate them; platform admins only, and never the last active platform admin."""
        check_name("user", user)
        with self.write() as tx:
            self.require(tx, who, Action.USER_MANAGE, GLOBAL_SCOPE, EntityKind.USER, user)
            found = tx.identity.get_user(user)
            if found is None:
                raise NotFound(f"no user {user!r}; list them with: relay users ls")
            if not active and self._active_platform_admins(tx) == [user]:
                raise Conflict(
                    f"{user} is the last active platform admin; grant admin to someone else "
                    "first (relay users grant NAME --role admin --project '*')"
                )
            if tx.identity.set_user_active(user, active):
                action = Event.USER_ACTIVATE if active else Event.USER_DEACTIVATE
                self._record_about_user(tx, who, action, user, {"user": user})
            changed = tx.identity.get_user(user)
        self.token_cache.clear()
        assert changed is not None
        return changed

    def _active_platform_admins(self, tx: Transaction) -> list[str]:
        return [
            u.name
            for u in tx.identity.list_users()
            if Role.ADMIN in u.grants.get(GLOBAL_SCOPE, []) and u.active
        ]

    def list_users(self, who: Principal, project: str | None = None) -> list[User]:
        """Every user (platform readers), or those holding a role in `project`, shown with
        their grants there and platform-wide only: never their roles in other projects."""
        with self.read() as tx:
            if project is None or project == GLOBAL_SCOPE:
                self.require(tx, who, Action.USER_READ, GLOBAL_SCOPE, EntityKind.USER, "*")
                return tx.identity.list_users()
            self.require_in_project(tx, who, Action.USER_READ, project, EntityKind.USER, "*")
            users = tx.identity.list_users()
        shown = (project, GLOBAL_SCOPE)
        return [
            replace(u, grants={p: r for p, r in u.grants.items() if p in shown})
            for u in users
            if any(p in u.grants for p in shown)
        ]

    def grant(self, who: Principal, user: str, role: str, project: str) -> None:
        """Grant `role` (a built-in role or one the project's role table defines: relay roles
        ls) in `project` ('*': every project, with the installation's roles)."""
        self._change_grant(who, user, check_role_name(role), check_project(project), add=True)

    def revoke(self, who: Principal, user: str, role: str, project: str) -> None:
        self._change_grant(who, user, check_role_name(role), check_project(project), add=False)

    def _change_grant(
        self, who: Principal, user: str, role: str, project: str, *, add: bool
    ) -> None:
        with self.write() as tx:
            if project == GLOBAL_SCOPE:
                mine = self.require(tx, who, Action.GRANT_MANAGE, project, EntityKind.USER, user)
            else:
                mine = self.require_in_project(
                    tx, who, Action.GRANT_MANAGE, project, EntityKind.USER, user
                )
            if not tx.identity.user_exists(user):
                raise NotFound(f"no user {user!r}; create one with relay users create {user}")
            if add:
                self.table(tx, project).require_known(role, _where(project))
                tx.identity.add_grant(user, project, role, who.user, utcnow())
            else:
                last_admin = self._active_platform_admins(tx) == [user]
                if role == Role.ADMIN and project == GLOBAL_SCOPE and last_admin:
                    raise Conflict(
                        f"{user} is the last platform admin; grant admin to someone else first"
                    )
                if not tx.identity.remove_grant(user, project, role):
                    raise NotFound(f"{user} does not hold {role} in {project!r}")
            action = Event.GRANT_ADD if add else Event.GRANT_REMOVE
            payload = {"user": user, "role": role, "project": project}
            self.record(tx, who, mine, action, project, EntityKind.USER, user, payload)
        self.token_cache.clear()  # a user left with no role stops authenticating here at once


def record_about_user(
    service: ServiceBase, tx: Transaction, who: Principal, action: Event, user: str, payload: Any
) -> None:
    """Audit an event about `user` where it belongs: each project they hold a role in, so that
    project's governance reads it; '*' too for platform grants or a user with none."""
    grants = tx.identity.grants_of(user)
    scopes = sorted(p for p in grants if p != GLOBAL_SCOPE)
    if not scopes or GLOBAL_SCOPE in grants:
        scopes = [GLOBAL_SCOPE, *scopes]
    for scope in scopes:
        roles = service.roles(tx, who.user, scope)
        service.record(tx, who, roles, action, scope, EntityKind.USER, user, payload)


def _where(project: str) -> str:
    return "the installation (grants in '*')" if project == GLOBAL_SCOPE else f"project {project!r}"
