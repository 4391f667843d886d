"""Small helpers shared by the SQL repositories."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.sql.elements import ColumnElement


def utc(value: datetime) -> datetime:
    """Datetimes come back naive from SQLite and in the session zone from PostgreSQL."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utc_or_none(value: datetime | None) -> datetime | None:
    return utc(value) if value is not None else None


def to_db_float(value: float) -> float | None:
    return None if math.isnan(value) else value


def from_db_float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
    where: Any = None,
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET update (or DO NOTHING) on SQLite and Postgres."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":  # imported here: SQLite users never load it
        from sqlalchemy.dialects import postgresql as dialect
    else:
        from sqlalchemy.dialects import sqlite as dialect  # type: ignore[no-redef]
    stmt = dialect.insert(table)
    if update:
        excluded = stmt.excluded
        cond: ColumnElement[bool] | None = where(table, excluded) if where is not None else None
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={c: excluded[c] for c in update},
            where=cond,
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    conn.execute(stmt, list(rows))
