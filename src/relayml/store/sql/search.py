"""Run search: filter conditions and orderings compiled to SQLAlchemy expressions.

The conditions come from `domain.filters`; values only ever reach the database as bound
parameters. A statement depends only on the search's shape (which keys, which operators, which
ordering), so it is built once per shape and reused with new values: SQLAlchemy then finds its
compiled form without rebuilding the expression tree (benchmarks/RESULTS.md, search).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    case,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.sql import Select

from relayml.domain.filters import Condition, OrderBy, Value
from relayml.domain.tracking import INT64_MAX, INT64_MIN, RunStatus
from relayml.errors import InvalidInput
from relayml.store.sql import schema as s
from relayml.store.sql._util import utc

_TIMES = ("start_time", "end_time")

_KIND_TABLES: dict[str, Table] = {
    "param": s.params,
    "tag": s.tags,
    "metric": s.latest_metrics,
}

# How many experiments are named; (kind, key, op, how many values) per condition; the orderings;
# for a page after the first, which of the previous page's last sort values were NULL.
_Shape = tuple[
    int, tuple[tuple[str, str, str, int], ...], tuple[OrderBy, ...], tuple[bool, ...] | None
]


def status_column() -> Any:
    """A run's status as read: `lost` for a running run whose last heartbeat is before the
    bound `lost_before` (NULL: none is), else the stored one. Every read of runs (a run, a
    page, a filter or ordering on status) goes through this one expression."""
    r = s.runs.c
    silent = r.last_heartbeat < bindparam("lost_before", type_=r.last_heartbeat.type)
    lost = and_(r.status == RunStatus.RUNNING.value, silent)
    return case((lost, literal(RunStatus.LOST.value, String)), else_=r.status)


def _attr_column(key: str) -> Any:
    if key == "experiment":
        return s.experiments.c.name
    if key == "status":
        return status_column()
    return s.runs.c[key]


def _time_value(v: Value) -> datetime:
    if isinstance(v, float):
        try:
            return datetime.fromtimestamp(v / 1000.0, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidInput(
                f"time value {v:g} is out of range; give milliseconds since the epoch between "
                "year 1 and 9999, or an ISO date"
            ) from None
    try:
        parsed = datetime.fromisoformat(v)
    except ValueError:
        raise InvalidInput(
            f"time value {v!r} is neither milliseconds since the epoch nor an ISO date"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _compare(col: Any, op: str, value: Any) -> ColumnElement[bool]:
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
        return col.in_(value)  # type: ignore[no-any-return]
    if op == "NOT IN":
        return col.not_in(value)  # type: ignore[no-any-return]
    raise InvalidInput(f"unsupported operator {op!r}")


def _bound_value(cond: Condition) -> Any:
    """The condition's value as the database compares it: times as datetimes, numbers as text
    for params, tags and text attributes, lists for IN."""
    value = cond.value
    if cond.kind == "metric":
        if isinstance(value, tuple) and not all(isinstance(v, float) for v in value):
            raise InvalidInput(f"metrics.{cond.key} IN (...) needs numbers")
        return list(value) if isinstance(value, tuple) else value
    if cond.kind == "attribute" and cond.key in ("start_time", "end_time"):
        if isinstance(value, tuple):
            return [_time_value(v) for v in value]
        return _time_value(value)
    if isinstance(value, tuple):
        return [str(v) if isinstance(v, float) else v for v in value]
    return str(value) if isinstance(value, float) else value


def _page_columns() -> list[Any]:
    r, e = s.runs.c, s.experiments.c
    return [
        r.id,
        e.project,
        e.name,
        r.name,
        status_column(),
        r.user,
        type_coerce(r.start_time, String),
        type_coerce(r.end_time, String),
        r.parent_id,
        r.summary,
        type_coerce(r.last_heartbeat, String),
    ]


def page_query() -> Select[Any]:
    """The columns a `RunRecord` is built from, one row per run (params etc. in the summary);
    execute it with `lost_before` bound (`status_column`).

    Times are selected uncoerced: SQLite's text is parsed once by the caller rather than by a
    per-row result processor.
    """
    r, e = s.runs.c, s.experiments.c
    return select(*_page_columns()).select_from(s.runs.join(s.experiments, r.experiment_id == e.id))


@lru_cache(maxsize=512)
def _shaped_query(shape: _Shape) -> Select[Any]:
    """A search statement with every value a bound parameter: `project`, `e0`, `e1`, ... (the
    experiments), `v0`, `v1`, ... (one per condition; `v0_0`, `v0_1`, ... for an IN list),
    `limit`, and `k0`, `k1`, ... (the previous page's last sort values). Lists get one
    parameter per item rather than SQLAlchemy's expanding parameters, which re-render the
    statement on every execution.

    A condition on a param, tag or metric is an inner join on its (run, key) row: the row must
    exist and match, and (run, key) is unique, so no run appears twice. Joins rather than
    `IN (subquery)` let the planner start from a condition's index. The condition rows come
    first in FROM and join each other on the first one's run id, runs after them: the planner
    then checks every condition before it looks a run up (at 100,000 runs that halves a
    search; benchmarks/RESULTS.md).
    """
    n_experiments, conditions, order_by, after = shape
    r, e = s.runs.c, s.experiments.c
    where: list[Any] = [e.project == bindparam("project")]
    if n_experiments:
        where.append(e.name.in_([bindparam(f"e{j}") for j in range(n_experiments)]))
    joined: dict[tuple[str, str], Any] = {}
    first: Any = None
    from_: Any = None
    for i, (kind, key, op, n_values) in enumerate(conditions):
        value: Any = bindparam(f"v{i}")
        if op in ("IN", "NOT IN"):
            value = [bindparam(f"v{i}_{j}") for j in range(n_values)]
        if kind == "attribute":
            where.append(_compare(_attr_column(key), op, value))
            continue
        alias = _KIND_TABLES[kind].alias(f"c{i}")
        match = (alias.c.key == key) & _compare(alias.c.value, op, value)
        if first is None:
            first, from_ = alias, alias
            where.append(match)
        else:
            from_ = from_.join(alias, (alias.c.run_id == first.c.run_id) & match)
        joined.setdefault((kind, key), alias)
    from_ = s.runs if first is None else from_.join(s.runs, r.id == first.c.run_id)
    from_ = from_.join(s.experiments, r.experiment_id == e.id)
    keys: list[tuple[Any, bool]] = []  # the sort columns, each with "descending"
    for i, ob in enumerate(order_by):
        if ob.kind == "attribute":
            col = _attr_column(ob.key)
        else:
            found = joined.get((ob.kind, ob.key))
            if found is None:  # not filtered on: runs without the key sort last
                found = _KIND_TABLES[ob.kind].alias(f"o{i}")
                from_ = from_.outerjoin(found, (found.c.run_id == r.id) & (found.c.key == ob.key))
            col = found.c.value
        keys.append((col, ob.descending))
    keys += [(r.start_time, True), (r.id, False)]  # ties broken the same way on every page
    if after is not None:
        where.append(_after(keys, after))
    sort_values = [c.label(f"sort{i}") for i, (c, _) in enumerate(keys)]
    page = (
        select(r.id.label("page_id"), *sort_values)
        .select_from(from_)
        .where(*where)
        .order_by(*_ordering(keys))
        .limit(bindparam("limit", type_=Integer))
        .subquery("page")
    )
    # Deferred join: the search sorts (id, sort values) only and reads the wide columns (the
    # summary) of the `limit` runs it keeps; sorting whole rows cost 3x more at 100,000 runs
    # in a project (benchmarks/RESULTS.md, ui).
    sorted_ = [(page.c[f"sort{i}"], desc) for i, (_, desc) in enumerate(keys)]
    return (
        select(*_page_columns(), *(c for c, _ in sorted_))
        .select_from(
            page.join(s.runs, r.id == page.c.page_id).join(s.experiments, r.experiment_id == e.id)
        )
        .order_by(*_ordering(sorted_))
    )


def _ordering(keys: list[tuple[Any, bool]]) -> list[Any]:
    """The sort columns, NULLs last, then the tie-break (newest first, then by id)."""
    (started, _), (run_id, _) = keys[-2:]
    ordering = [(c.desc() if desc else c.asc()).nulls_last() for c, desc in keys[:-2]]
    return [*ordering, started.desc(), run_id]


def _after(keys: list[tuple[Any, bool]], nulls: tuple[bool, ...]) -> ColumnElement[bool]:
    """Rows that sort after the one whose sort values are bound as `k0`, `k1`, ... (keyset
    paging: a run created or changed between pages neither repeats one nor hides one). NULLs
    sort last in every column, so nothing sorts after a NULL but a later column's tie-break."""
    terms: list[Any] = []
    equal: list[Any] = []
    for i, ((col, desc), null) in enumerate(zip(keys, nulls, strict=True)):
        if null:
            equal.append(col.is_(None))
            continue
        value = bindparam(f"k{i}", type_=col.type)
        beyond = col < value if desc else col > value
        terms.append(and_(*equal, or_(beyond, col.is_(None))))
        equal.append(col == value)
    return or_(*terms)


def sort_key(order_by: list[OrderBy], row: Sequence[Any]) -> list[Any]:
    """The sort values at the end of a search row, as JSON can carry them (times as ISO)."""
    times = [ob.kind == "attribute" and ob.key in _TIMES for ob in order_by] + [True, False]
    values = row[len(row) - len(times) :]
    out: list[Any] = []
    for is_time, v in zip(times, values, strict=True):
        if is_time and v is not None:
            v = utc(v if isinstance(v, datetime) else datetime.fromisoformat(v)).isoformat()
        out.append(v)
    return out


def _token_value_ok(v: Any, number: bool) -> bool:
    """A sort value from a page token (JSON the client could have forged) of the column's
    type, as the store can bind it: a 64-bit int or float for a metric, else valid text."""
    if number:
        is_int = isinstance(v, int) and not isinstance(v, bool)
        return isinstance(v, float) or (is_int and INT64_MIN <= v <= INT64_MAX)
    if not isinstance(v, str) or "\x00" in v:
        return False
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _key_values(order_by: list[OrderBy], after: list[Any]) -> dict[str, Any]:
    times = [ob.kind == "attribute" and ob.key in _TIMES for ob in order_by] + [True, False]
    numbers = [ob.kind == "metric" for ob in order_by] + [False, False]
    if not isinstance(after, list) or len(after) != len(times):
        raise InvalidInput("the page token does not belong to this search's order_by")
    values: dict[str, Any] = {}
    for i, (is_time, v) in enumerate(zip(times, after, strict=True)):
        if v is not None and not _token_value_ok(v, numbers[i]):
            raise InvalidInput("invalid page token: pass the next_page_token of the previous page")
        if v is None:
            continue
        if is_time:
            if not isinstance(v, str):
                raise InvalidInput("invalid page token: a time is not an ISO string")
            try:
                v = datetime.fromisoformat(v)
            except ValueError:
                raise InvalidInput("invalid page token: a time is not an ISO string") from None
        elif not isinstance(v, str | int | float) or isinstance(v, bool):
            raise InvalidInput("invalid page token: a sort value is not a string or number")
        values[f"k{i}"] = v
    return values


def search_query(
    project: str,
    experiments: list[str] | None,
    conditions: list[Condition],
    order_by: list[OrderBy],
    limit: int,
    after: list[Any] | None = None,
    lost_before: datetime | None = None,
) -> tuple[Select[Any], dict[str, Any]]:
    """The statement for this search and the values to execute it with: the first `limit`
    rows, or those after the row whose `sort_key` is `after`. Each row is the run's page
    columns followed by its sort values; a running run silent since before `lost_before`
    reads, filters and sorts as lost."""
    values: dict[str, Any] = {"project": project, "limit": limit, "lost_before": lost_before}
    nulls: tuple[bool, ...] | None = None
    if after is not None:
        values.update(_key_values(order_by, after))
        nulls = tuple(v is None for v in after)
    experiments = experiments or []
    values.update({f"e{j}": name for j, name in enumerate(experiments)})
    arity = []
    for i, cond in enumerate(conditions):
        bound = _bound_value(cond)
        if isinstance(bound, list):
            values.update({f"v{i}_{j}": v for j, v in enumerate(bound)})
            arity.append(len(bound))
        else:
            values[f"v{i}"] = bound
            arity.append(1)
    shape: _Shape = (
        len(experiments),
        tuple((c.kind, c.key, c.op, n) for c, n in zip(conditions, arity, strict=True)),
        tuple(order_by),
        nulls,
    )
    return _shaped_query(shape), values
