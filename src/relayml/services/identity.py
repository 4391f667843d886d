"""Projects, users, tokens and role grants."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from relayml.domain.audit import EntityKind, Event
from relayml.domain.identity import (
    DEFAULT_PROJECT,
    GLOBAL_SCOPE,
    IssuedToken,
    Principal,
    Project,
    Role,
    User,
    check_name,
    check_project,
    parse_role,
)
from relayml.domain.roles import Action
from relayml.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from relayml.services.base import ServiceBase, utcnow
from relayml.store.base import Transaction

TOKEN_PREFIX = "rly_"  # noqa: S105 - a prefix, not a secret


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


class IdentityService(ServiceBase):
    def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise Unauthenticated(
                "no token given; send 'Authorization: Bearer <token>' (set RELAY_TOKEN for the "
                "SDK and CLI). An admin creates one with: relay users create NAME --role ROLE"
            )
        with self.read() as tx:
            user = tx.identity.user_for_token(hash_token(token))
            if user is None:
                raise Unauthenticated(
                    "the token is unknown or revoked; ask an admin for a new one "
                    "(relay users token NAME)"
                )
            return Principal(user, tx.identity.grants_of(user))

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
            "grants": {p: sorted(r.value for r in g) for p, g in grants.items()},
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
        self, who: Principal, name: str, roles: list[str], project: str = DEFAULT_PROJECT
    ) -> IssuedToken:
        check_name("user", name)
        check_project(project)
        parsed = [parse_role(r) for r in roles]
        if not parsed:
            raise InvalidInput("give the new user at least one role (--role ROLE)")
        if project != GLOBAL_SCOPE:
            self.ensure_project(who, project)
        with self.write() as tx:
            mine = self.require(tx, who, Action.USER_MANAGE, project, EntityKind.USER, name)
            if tx.identity.user_exists(name):
                raise Conflict(
                    f"user {name!r} already exists; grant roles with relay users grant {name} "
                    "--role ROLE"
                )
            now = utcnow()
            tx.identity.create_user(name, now)
            for role in parsed:
                tx.identity.add_grant(name, project, role, who.user, now)
            issued = self._issue(tx, name)
            payload = {"name": name, "project": project, "roles": sorted(r.value for r in parsed)}
            self.record(tx, who, mine, Action.USER_MANAGE, project, EntityKind.USER, name, payload)
        return issued

    def _issue(self, tx: Transaction, user: str) -> IssuedToken:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(6)
        tx.identity.add_token(token_id, user, hash_token(token), utcnow())
        return IssuedToken(user=user, token=token, token_id=token_id)

    def issue_token(self, who: Principal, user: str) -> IssuedToken:
        """A new token for `user`: anyone for themselves, a platform admin for anyone."""
        with self.write() as tx:
            if user == who.user:
                roles = self.roles(tx, who.user, GLOBAL_SCOPE)
            else:
                roles = self.require(
                    tx, who, Action.USER_MANAGE, GLOBAL_SCOPE, EntityKind.USER, user
                )
            if not tx.identity.user_exists(user):
                raise NotFound(f"no user {user!r}; create one with relay users create {user}")
            issued = self._issue(tx, user)
            payload = {"token_id": issued.token_id}
            self.record(
                tx, who, roles, Event.TOKEN_ISSUE, GLOBAL_SCOPE, EntityKind.USER, user, payload
            )
        return issued

    def list_users(self, who: Principal, project: str | None = None) -> list[User]:
        scope = project or GLOBAL_SCOPE
        with self.read() as tx:
            self.require(tx, who, Action.USER_READ, scope, EntityKind.USER, "*")
            users = tx.identity.list_users()
        if project is None:
            return users
        return [u for u in users if project in u.grants or GLOBAL_SCOPE in u.grants]

    def grant(self, who: Principal, user: str, role: str, project: str) -> None:
        self._change_grant(who, user, parse_role(role), check_project(project), add=True)

    def revoke(self, who: Principal, user: str, role: str, project: str) -> None:
        self._change_grant(who, user, parse_role(role), check_project(project), add=False)

    def _change_grant(
        self, who: Principal, user: str, role: Role, project: str, *, add: bool
    ) -> None:
        with self.write() as tx:
            mine = self.require(tx, who, Action.GRANT_MANAGE, project, EntityKind.USER, user)
            if not tx.identity.user_exists(user):
                raise NotFound(f"no user {user!r}; create one with relay users create {user}")
            if project != GLOBAL_SCOPE and tx.identity.get_project(project) is None:
                raise NotFound(f"no project {project!r}; create it with relay projects create")
            if add:
                tx.identity.add_grant(user, project, role, who.user, utcnow())
            else:
                if role is Role.ADMIN and project == GLOBAL_SCOPE:
                    admins = [
                        u
                        for u in tx.identity.list_users()
                        if Role.ADMIN in u.grants.get(GLOBAL_SCOPE, []) and u.active
                    ]
                    if [u.name for u in admins] == [user]:
                        raise Conflict(
                            f"{user} is the last platform admin; grant admin to someone else first"
                        )
                if not tx.identity.remove_grant(user, project, role):
                    raise NotFound(f"{user} does not hold {role.value} in {project!r}")
            action = Event.GRANT_ADD if add else Event.GRANT_REMOVE
            payload = {"user": user, "role": role.value, "project": project}
            self.record(tx, who, mine, action, project, EntityKind.USER, user, payload)
