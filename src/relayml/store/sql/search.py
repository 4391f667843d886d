"""Run search: filter conditions and orderings compiled to SQLAlchemy expressions.

The conditions come from `domain.filters`; values only ever reach the database as bound
parameters.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, select
from sqlalchemy.sql import Select

from relayml.domain.filters import Condition, OrderBy, Value
from relayml.errors import InvalidInput
from relayml.store.sql import schema as s

_KIND_TABLES: dict[str, Table] = {
    "param": s.params,
    "tag": s.tags,
    "metric": s.latest_metrics,
}


def _attr_column(key: str) -> Any:
    if key == "experiment":
        return s.experiments.c.name
    return s.runs.c[key]


def _time_value(v: Value) -> datetime:
    if isinstance(v, float):
        return datetime.fromtimestamp(v / 1000.0, tz=UTC)
    try:
        parsed = datetime.fromisoformat(v)
    except ValueError:
        raise InvalidInput(
            f"time value {v!r} is neither milliseconds since the epoch nor an ISO date"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _compare(col: Any, op: str, value: Value | tuple[Value, ...]) -> ColumnElement[bool]:
    if op == "=":
        return col == value  # type: ignore[no-any-return]
    if op == "!=":
        return col != value  # type: ignore[no-any-return]
    if op == "<":
        return col < value  # type: ignore[no-any-return]
    if op == "<=":
        return col <= value  # type: ignore[no-any-return]
    if op == ">":
        return col > value  # type: ignore[no-any-return]
    if op == ">=":
        return col >= value  # type: ignore[no-any-return]
    if op == "LIKE":
        return col.like(value)  # type: ignore[no-any-return]
    if op == "ILIKE":
        return col.ilike(value)  # type: ignore[no-any-return]
    if op == "IN":
        return col.in_(list(value))  # type: ignore[arg-type,no-any-return]
    if op == "NOT IN":
        return col.not_in(list(value))  # type: ignore[arg-type,no-any-return]
    raise InvalidInput(f"unsupported operator {op!r}")


def _condition(cond: Condition) -> ColumnElement[bool]:
    if cond.kind == "attribute":
        col = _attr_column(cond.key)
        value: Any = cond.value
        if cond.key in ("start_time", "end_time"):
            if isinstance(value, tuple):
                value = tuple(_time_value(v) for v in value)
            else:
                value = _time_value(value)
        elif isinstance(value, float):
            value = str(value)
        return _compare(col, cond.op, value)
    table = _KIND_TABLES[cond.kind]
    if (
        cond.kind == "metric"
        and isinstance(cond.value, tuple)
        and not all(isinstance(v, float) for v in cond.value)
    ):
        raise InvalidInput(f"metrics.{cond.key} IN (...) needs numbers")
    if cond.kind != "metric" and isinstance(cond.value, tuple):
        value = tuple(str(v) if isinstance(v, float) else v for v in cond.value)
    else:
        value = cond.value
    # Uncorrelated: the database evaluates the (key, value)-indexed subquery once and probes
    # its result per run, instead of one index lookup per run per condition.
    return s.runs.c.id.in_(
        select(table.c.run_id).where(
            table.c.key == cond.key, _compare(table.c.value, cond.op, value)
        )
    )


def build_query(
    project: str,
    experiments: list[str] | None,
    conditions: list[Condition],
    order_by: list[OrderBy],
) -> Select[Any]:
    r, e = s.runs.c, s.experiments.c
    from_ = s.runs.join(s.experiments, r.experiment_id == e.id)
    q = select(r.id).where(e.project == project)
    if experiments:
        q = q.where(e.name.in_(experiments))
    for cond in conditions:
        q = q.where(_condition(cond))
    ordering: list[Any] = []
    for i, ob in enumerate(order_by):
        if ob.kind == "attribute":
            col = _attr_column(ob.key)
        else:
            alias = _KIND_TABLES[ob.kind].alias(f"o{i}")
            from_ = from_.outerjoin(alias, (alias.c.run_id == r.id) & (alias.c.key == ob.key))
            col = alias.c.value
        ordering.append((col.desc() if ob.descending else col.asc()).nulls_last())
    ordering += [r.start_time.desc(), r.id]
    return q.select_from(from_).order_by(*ordering)


def search_run_ids(
    conn: Connection,
    project: str,
    experiments: list[str] | None,
    conditions: list[Condition],
    order_by: list[OrderBy],
    limit: int,
    offset: int,
) -> list[str]:
    q = build_query(project, experiments, conditions, order_by).limit(limit).offset(offset)
    return [row[0] for row in conn.execute(q)]
