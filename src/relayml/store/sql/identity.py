"""Projects, users, tokens and role grants in SQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, literal, select, update

from relayml.domain.identity import Project, TokenInfo, User
from relayml.store.sql import schema as s
from relayml.store.sql._util import upsert, utc, utc_or_none

# Run by nearly every service call (the project check and the permission check): built once.
_PROJECT_EXISTS = select(literal(1)).where(s.projects.c.name == bindparam("name"))
_GRANTS_OF = select(s.grants.c.project, s.grants.c.role).where(s.grants.c.user == bindparam("user"))


class SqlIdentity:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def project_exists(self, name: str) -> bool:
        return self.conn.execute(_PROJECT_EXISTS, {"name": name}).first() is not None

    def get_project(self, name: str) -> Project | None:
        row = self.conn.execute(select(s.projects).where(s.projects.c.name == name)).first()
        if row is None:
            return None
        return Project(row.name, utc(row.created_at), row.created_by, row.description)

    def create_project(self, name: str, description: str, by: str, now: datetime) -> bool:
        """Insert if absent; False when it already existed."""
        before = self.get_project(name)
        if before is not None:
            return False
        upsert(
            self.conn,
            s.projects,
            [{"name": name, "description": description, "created_at": now, "created_by": by}],
            ["name"],
            [],
        )
        return True

    def list_projects(self) -> list[Project]:
        rows = self.conn.execute(select(s.projects).order_by(s.projects.c.name))
        return [Project(r.name, utc(r.created_at), r.created_by, r.description) for r in rows]

    def user_exists(self, name: str) -> bool:
        q = select(s.users.c.name).where(s.users.c.name == name)
        return self.conn.execute(q).first() is not None

    def create_user(self, name: str, now: datetime) -> None:
        self.conn.execute(s.users.insert().values(name=name, created_at=now, active=True))

    def list_users(self) -> list[User]:
        grants = self._all_grants()
        rows = self.conn.execute(select(s.users).order_by(s.users.c.name))
        return [
            User(r.name, utc(r.created_at), grants.get(r.name, {}), bool(r.active)) for r in rows
        ]

    def _all_grants(self) -> dict[str, dict[str, list[str]]]:
        out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        q = select(s.grants).order_by(s.grants.c.user, s.grants.c.project, s.grants.c.role)
        for r in self.conn.execute(q):
            out[r.user][r.project].append(r.role)
        return {u: dict(p) for u, p in out.items()}

    def grants_of(self, user: str) -> dict[str, frozenset[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for project, role in self.conn.execute(_GRANTS_OF, {"user": user}):
            out[project].add(role)
        return {p: frozenset(roles) for p, roles in out.items()}

    def holders_of(self, roles: Iterable[str]) -> list[tuple[str, str, str]]:
        g = s.grants.c
        names = sorted(set(roles))
        if not names:
            return []
        q = select(g.user, g.project, g.role).where(g.role.in_(names))
        return [(r.user, r.project, r.role) for r in self.conn.execute(q.order_by(g.user))]

    def add_grant(self, user: str, project: str, role: str, by: str, now: datetime) -> None:
        row = {"user": user, "project": project, "role": role}
        upsert(
            self.conn,
            s.grants,
            [{**row, "granted_at": now, "granted_by": by}],
            ["user", "project", "role"],
            [],
        )

    def remove_grant(self, user: str, project: str, role: str) -> bool:
        g = s.grants.c
        res = self.conn.execute(
            delete(s.grants).where(g.user == user, g.project == project, g.role == role)
        )
        return bool(res.rowcount)

    def get_user(self, name: str) -> User | None:
        row = self.conn.execute(select(s.users).where(s.users.c.name == name)).first()
        if row is None:
            return None
        grants = {p: sorted(r) for p, r in self.grants_of(name).items()}
        return User(row.name, utc(row.created_at), grants, bool(row.active))

    def set_user_active(self, name: str, active: bool) -> bool:
        """Change whether `name` may authenticate; False when it already was so."""
        u = s.users.c
        res = self.conn.execute(
            update(s.users).where(u.name == name, u.active.isnot(active)).values(active=active)
        )
        return bool(res.rowcount)

    def add_token(
        self, token_id: str, user: str, token_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        self.conn.execute(
            s.tokens.insert().values(
                id=token_id, user=user, token_hash=token_hash, created_at=now, expires_at=expires_at
            )
        )

    def token_by_hash(self, token_hash: str) -> tuple[TokenInfo, bool] | None:
        """The token with this hash, and whether its user is active; one statement."""
        row = self.conn.execute(_TOKEN_BY_HASH, {"token_hash": token_hash}).first()
        if row is None:
            return None
        return _token(row), bool(row.active)

    def get_token(self, token_id: str) -> TokenInfo | None:
        row = self.conn.execute(_TOKENS.where(s.tokens.c.id == token_id)).first()
        return _token(row) if row else None

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        q = _TOKENS.order_by(s.tokens.c.user, s.tokens.c.created_at, s.tokens.c.id)
        if user is not None:
            q = q.where(s.tokens.c.user == user)
        return [_token(r) for r in self.conn.execute(q)]

    def revoke_token(self, token_id: str, now: datetime) -> bool:
        """Revoke one token; False when it was already revoked."""
        t = s.tokens.c
        res = self.conn.execute(
            update(s.tokens).where(t.id == token_id, t.revoked_at.is_(None)).values(revoked_at=now)
        )
        return bool(res.rowcount)


_T = s.tokens.c
_TOKENS = select(_T.id, _T.user, _T.created_at, _T.expires_at, _T.revoked_at)
# Run on every authentication the cache does not answer: built once.
_TOKEN_BY_HASH = (
    select(_T.id, _T.user, _T.created_at, _T.expires_at, _T.revoked_at, s.users.c.active)
    .join(s.users, s.users.c.name == _T.user)
    .where(_T.token_hash == bindparam("token_hash"))
)


def _token(row: Any) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        user=row.user,
        created_at=utc(row.created_at),
        expires_at=utc_or_none(row.expires_at),
        revoked_at=utc_or_none(row.revoked_at),
    )
