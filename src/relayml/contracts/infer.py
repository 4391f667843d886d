"""`infer_contract(data)`: a starting contract written from the data itself.

What it infers, in one streaming pass: each column's type; `nullable: false` where no value is
missing; `min`/`max` of numeric columns as observed; `allowed` values of string and boolean
columns with at most 20 distinct values (and at most half as many distinct values as rows);
`unique: true` for id-like columns (named `id`, `*_id`, `*_key`, `uuid`) without duplicates; and
a row-count range of half to twice the rows seen. It is a draft: widen the ranges and sets to
what the data may legitimately hold before you rely on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from relayml.contracts.dtypes import type_name
from relayml.contracts.sources import batches
from relayml.contracts.spec import Column, Contract, RowCount
from relayml.contracts.uniqueness import GroupCounter, NumericCounter

MAX_ALLOWED = 20
ID_LIKE = re.compile(r"(^|_)(id|key|uuid)$", re.IGNORECASE)


class _Stats:
    def __init__(self, name: str, t: Any) -> None:
        self.name, self.type = name, t
        self.nulls = 0
        self.lo: Any = None
        self.hi: Any = None
        numeric = pa.types.is_integer(t) or pa.types.is_floating(t)
        self.numeric = numeric
        self.values: set[Any] | None = (
            set() if pa.types.is_string(t) or pa.types.is_large_string(t)
            or pa.types.is_boolean(t) or pa.types.is_dictionary(t) else None
        )  # fmt: skip
        self.counter: NumericCounter | GroupCounter | None = None
        if ID_LIKE.search(name) and (pa.types.is_integer(t) or self.values is not None):
            self.counter = NumericCounter() if pa.types.is_integer(t) else GroupCounter([name])

    def add(self, col: Any) -> None:
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        self.nulls += col.null_count
        if self.numeric and len(col) > col.null_count:
            mm = pc.min_max(col)
            lo, hi = mm["min"].as_py(), mm["max"].as_py()
            self.lo = lo if self.lo is None or lo < self.lo else self.lo
            self.hi = hi if self.hi is None or hi > self.hi else self.hi
        if self.values is not None:
            distinct = pc.unique(col.drop_null())
            if len(distinct) + len(self.values) <= 4 * MAX_ALLOWED:
                self.values.update(distinct.to_pylist())
            if len(self.values) > MAX_ALLOWED or len(distinct) > MAX_ALLOWED:
                self.values = None
        if isinstance(self.counter, NumericCounter):
            self.counter.add((col.drop_null() if col.null_count else col).to_numpy())
        elif isinstance(self.counter, GroupCounter):
            self.counter.add(pa.table({self.name: col}))

    def column(self, rows: int) -> Column:
        kw: dict[str, Any] = {"name": self.name, "type": type_name(self.type)}
        if rows and self.nulls == 0:
            kw["nullable"] = False
        if self.numeric and self.lo is not None:
            kw["min"], kw["max"] = self.lo, self.hi
        if self.values is not None and self.values and len(self.values) <= max(1, rows // 2):
            kw["allowed"] = tuple(sorted(self.values, key=str))
        if self.counter is not None and rows > self.nulls:
            kw["unique"] = self.counter.duplicates()[0] == 0
        return Column(**kw)


def infer_contract(
    data: Any, *, name: str | None = None, dtypes: Mapping[str, str] | None = None
) -> Contract:
    """A starting contract for `data` (a pandas/polars/pyarrow table or a Parquet/CSV path;
    `dtypes` fixes CSV columns' types, column -> type name)."""
    stats: dict[str, _Stats] = {}
    rows = 0
    for batch in batches(data, dtypes=dtypes):
        for field, col in zip(batch.schema, batch.columns, strict=True):
            if field.name not in stats:
                stats[field.name] = _Stats(field.name, field.type)
            stats[field.name].add(col)
        rows += batch.num_rows
    if name is None and isinstance(data, str | Path):
        name = Path(data).stem
    columns = tuple(s.column(rows) for s in stats.values())
    checks = (RowCount(min=max(1, rows // 2), max=max(1, rows * 2)),) if rows else ()
    return Contract(columns=columns, checks=checks, name=name,
                    description=f"inferred from {rows:,} rows; review before use")  # fmt: skip
