"""Roles as policy: custom roles and changes to the built-in ones, per installation or project.

An admin applies a roles document (`domain/roles.py` says what it may say); each apply is a new
version of its scope, kept and audited with its digest. An apply that would leave something
broken is refused whole, saying what and how to fix it: a role still granted to someone that
would vanish, a promotion policy naming an approver that could no longer approve, or a project's
own document that would no longer apply on top of the installation's. Taking from `admin` what
undoes a change (role.manage, grant.manage, user.manage) is refused by the document's parser.
"""

from __future__ import annotations

import hashlib

from relayml.domain.audit import EntityKind
from relayml.domain.identity import GLOBAL_SCOPE, Principal, check_name, check_role_name
from relayml.domain.policy import DEFAULT, approver_problems, parse_policy
from relayml.domain.roles import (
    DEFAULT_TABLE,
    INSTALLATION,
    PROJECT,
    Action,
    RoleInfo,
    RolesDocument,
    RoleTable,
    apply_document,
    parse_roles,
)
from relayml.errors import Conflict, InvalidInput, NotFound
from relayml.services.base import ServiceBase, utcnow
from relayml.services.role_tables import build, stored_doc
from relayml.store.base import Transaction

MAX_HISTORY = 1000


def _scope(project: str | None) -> str:
    """None or '*': the installation; otherwise the project's name."""
    if project is None or project == GLOBAL_SCOPE:
        return GLOBAL_SCOPE
    return check_name("project", project)


def _where(scope: str) -> str:
    return "the installation" if scope == GLOBAL_SCOPE else f"project {scope!r}"


class RoleService(ServiceBase):
    def _require(
        self, tx: Transaction, who: Principal, action: Action, scope: str
    ) -> frozenset[str]:
        if scope == GLOBAL_SCOPE:
            return self.require(tx, who, action, scope, EntityKind.ROLES, scope)
        return self.require_in_project(tx, who, action, scope, EntityKind.ROLES, scope)

    def list_roles(self, who: Principal, project: str | None = None) -> list[RoleInfo]:
        """Every role known in `project` (None: the installation), built-in or custom, with
        what it may do there and where its definition comes from."""
        scope = _scope(project)
        with self.read() as tx:
            self._require(tx, who, Action.ROLE_READ, scope)
            table = self.table(tx, scope)
        return [table.roles[name] for name in table.names()]

    def get(self, who: Principal, name: str, project: str | None = None) -> RoleInfo:
        """One role as it stands in `project` (None: the installation): its actions, and what
        was added to or removed from its default (a built-in's) or its definition."""
        scope = _scope(project)
        check_role_name(name)
        with self.read() as tx:
            self._require(tx, who, Action.ROLE_READ, scope)
            table = self.table(tx, scope)
        found = table.get(name)
        if found is None:
            raise NotFound(
                f"no role {name!r} in {_where(scope)}; known roles: {', '.join(table.names())}"
            )
        return found

    def history(
        self, who: Principal, project: str | None = None, limit: int = 100
    ) -> list[RolesDocument]:
        """The versions of the roles document of `project` (None: the installation's), newest
        first, each as it was applied."""
        scope = _scope(project)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_HISTORY:
            raise InvalidInput(f"limit must be from 1 to {MAX_HISTORY}")
        with self.read() as tx:
            self._require(tx, who, Action.ROLE_READ, scope)
            return tx.roles.history(scope, limit)

    def apply(self, who: Principal, text: str, project: str | None = None) -> RolesDocument:
        """Make `text` the roles document of `project` (None: the installation): a new version,
        audited with its digest. Refused whole, with nothing changed, if it is invalid or
        would break a grant, a promotion policy or a project's own document."""
        scope = _scope(project)
        doc = parse_roles(text)
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        with self.write() as tx:
            mine = self._require(tx, who, Action.ROLE_MANAGE, scope)
            if scope == GLOBAL_SCOPE:
                heads = tx.roles.all_heads()
            else:
                heads = tx.roles.heads([GLOBAL_SCOPE, scope])
            install_head = heads.get(GLOBAL_SCOPE)
            install = stored_doc(tx, GLOBAL_SCOPE, install_head)
            install_version = install_head[0] if install_head else 0
            version = (heads[scope][0] if scope in heads else 0) + 1
            before: dict[str, RoleTable] = {}
            after: dict[str, RoleTable] = {}
            if scope == GLOBAL_SCOPE:
                before[scope] = build(install, install_version, None, 0)
                after[scope] = apply_document(DEFAULT_TABLE, doc, INSTALLATION, version)
                for p in tx.identity.list_projects():
                    own_head = heads.get(p.name)
                    if own_head is None:
                        before[p.name], after[p.name] = before[scope], after[scope]
                        continue
                    own = stored_doc(tx, p.name, own_head)
                    before[p.name] = build(install, install_version, own, own_head[0])
                    try:
                        after[p.name] = apply_document(after[scope], own, PROJECT, own_head[0])
                    except InvalidInput as exc:
                        raise Conflict(
                            f"refused, nothing changed: project {p.name!r}'s own roles document "
                            f"(version {own_head[0]}) would no longer apply on top of this one: "
                            f"{exc}. Change project {p.name!r}'s first (relay roles apply FILE "
                            f"--project {p.name})"
                        ) from None
            else:
                own_head = heads.get(scope)
                own = stored_doc(tx, scope, own_head)
                before[scope] = build(install, install_version, own, own_head[0] if own_head else 0)
                below = build(install, install_version, None, 0)
                after[scope] = apply_document(below, doc, PROJECT, version)
            self._check_grants(tx, before, after)
            self._check_policies(tx, before, after)
            record = RolesDocument(scope, version, text, digest, who.user, utcnow())
            tx.roles.add_document(record)
            self.record(
                tx,
                who,
                mine,
                Action.ROLE_MANAGE,
                scope,
                EntityKind.ROLES,
                f"{scope}@{version}",
                record.to_payload(),
            )
        return record

    @staticmethod
    def _check_grants(
        tx: Transaction, before: dict[str, RoleTable], after: dict[str, RoleTable]
    ) -> None:
        """A role that would vanish from a scope must be granted to no one there."""
        gone = {s: set(before[s].roles) - set(after[s].roles) for s in before}
        names = set().union(*gone.values())
        if not names:
            return
        held = [
            (user, project, role)
            for user, project, role in tx.identity.holders_of(names)
            if role in gone.get(project, ())
        ]
        if held:
            shown = ", ".join(
                f"{role} by {user} in {'every project' if p == GLOBAL_SCOPE else repr(p)}"
                for user, p, role in held[:10]
            ) + (f" and {len(held) - 10} more" if len(held) > 10 else "")
            user, p, role = held[0]
            raise Conflict(
                f"refused, nothing changed: it removes roles that are still granted ({shown}). "
                f"Revoke those grants first (relay users revoke {user} --role {role} "
                f"--project {p}), or keep the roles"
            )

    @staticmethod
    def _check_policies(
        tx: Transaction, before: dict[str, RoleTable], after: dict[str, RoleTable]
    ) -> None:
        """Every approver a project's promotion policy names that could approve before still
        can: otherwise the policy would block every promotion it guards."""
        for project in before:
            if project == GLOBAL_SCOPE:
                continue
            found = tx.models.policy(project)
            policy = parse_policy(found[1], found[0]) if found else DEFAULT
            was = {(a, r) for a, r, _ in approver_problems(policy, before[project])}
            broken = [
                (a, r, why)
                for a, r, why in approver_problems(policy, after[project])
                if (a, r) not in was
            ]
            if broken:
                which = f"version {policy.version}" if policy.version else "the built-in default"
                said = "; ".join(f"{r} approves {a!r} but {why}" for a, r, why in broken)
                raise Conflict(
                    f"refused, nothing changed: project {project!r}'s promotion policy ({which}) "
                    f"names approvers this would stop: {said}. Change the policy first (relay "
                    f"policy apply FILE --project {project}), or keep those roles able to approve"
                )
