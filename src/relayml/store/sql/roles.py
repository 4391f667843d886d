"""Role documents in SQL: every version of the installation's and each project's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, select
from sqlalchemy.orm import aliased

from relayml.domain.roles import RolesDocument
from relayml.store.sql import schema as s
from relayml.store.sql._util import utc

_D = s.role_documents.c
_newer = aliased(s.role_documents)


def _heads(*names: str) -> Select[Any]:
    """The newest version of each named scope: an index range read per scope."""
    newest = select(func.max(_newer.c.version)).where(_newer.c.scope == _D.scope)
    return select(_D.scope, _D.version, _D.digest).where(
        _D.scope.in_([bindparam(n) for n in names]), _D.version == newest.scalar_subquery()
    )


# Run by every permission check (the installation's and the project's heads): built once.
_HEADS_1 = _heads("a")
_HEADS_2 = _heads("a", "b")
_ALL_HEADS = select(_D.scope, _D.version, _D.digest).where(
    _D.version
    == select(func.max(_newer.c.version)).where(_newer.c.scope == _D.scope).scalar_subquery()
)


class SqlRoles:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # scope -> its newest (version, digest), or None: read once per transaction
        self._heads: dict[str, tuple[int, str] | None] = {}

    def heads(self, scopes: Sequence[str]) -> dict[str, tuple[int, str]]:
        missing = [sc for sc in dict.fromkeys(scopes) if sc not in self._heads]
        for start in range(0, len(missing), 2):
            chunk = missing[start : start + 2]
            stmt = _HEADS_2 if len(chunk) == 2 else _HEADS_1
            params = dict(zip(("a", "b"), chunk, strict=False))
            for sc in chunk:
                self._heads[sc] = None
            for row in self.conn.execute(stmt, params):
                self._heads[row.scope] = (row.version, row.digest)
        return {sc: h for sc in scopes if (h := self._heads[sc]) is not None}

    def all_heads(self) -> dict[str, tuple[int, str]]:
        found = {row.scope: (row.version, row.digest) for row in self.conn.execute(_ALL_HEADS)}
        return found

    def document(self, scope: str, version: int) -> RolesDocument | None:
        row = self.conn.execute(
            select(s.role_documents).where(_D.scope == scope, _D.version == version)
        ).first()
        return _doc(row) if row is not None else None

    def add_document(self, doc: RolesDocument) -> None:
        self.conn.execute(
            s.role_documents.insert().values(
                scope=doc.scope,
                version=doc.version,
                text=doc.text,
                digest=doc.digest,
                created_by=doc.created_by,
                created_at=doc.created_at,
            )
        )
        self._heads[doc.scope] = (doc.version, doc.digest)

    def history(self, scope: str | None, limit: int) -> list[RolesDocument]:
        q = select(s.role_documents).order_by(_D.created_at.desc(), _D.scope, _D.version.desc())
        if scope is not None:
            q = q.where(_D.scope == scope)
        return [_doc(r) for r in self.conn.execute(q.limit(limit))]


def _doc(row: Any) -> RolesDocument:
    return RolesDocument(
        scope=row.scope,
        version=row.version,
        text=row.text,
        digest=row.digest,
        created_by=row.created_by,
        created_at=utc(row.created_at),
    )
