"""Tables of runs (and anything else keyed by columns): which columns, how each sorts, paging.

A column is `kind:key` in URLs (`metric:val loss`, `param:lr`, `attribute:start_time`) and a
field of the filter grammar in searches (`metrics.\\`val loss\\``), so sorting by any column is
the service's own `order_by`. Paging is keyset paging, the service's `next_page_token`: a page
costs the same at run 100 and at run 100,000.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from relayml.domain.tracking import RunRecord
from relayml.errors import InvalidInput

ATTRIBUTES = {
    "name": "Run",
    "status": "Status",
    "experiment": "Experiment",
    "user": "By",
    "start_time": "Started",
    "end_time": "Ended",
}
_PLURAL = {"param": "params", "metric": "metrics", "tag": "tags", "attribute": "attributes"}
PAGE_SIZES = (25, 50, 100, 200)


@dataclass(frozen=True)
class Column:
    kind: str  # attribute, param, metric or tag
    key: str

    @classmethod
    def parse(cls, text: str) -> Column:
        kind, sep, key = text.partition(":")
        if not sep or kind not in _PLURAL or not key or "`" in key:
            raise InvalidInput(
                f"invalid column {text!r}; a column is kind:key with kind one of "
                f"{', '.join(_PLURAL)} (e.g. metric:acc)"
            )
        if kind == "attribute" and key not in ATTRIBUTES:
            raise InvalidInput(f"unknown attribute column {key!r}; use one of {list(ATTRIBUTES)}")
        return cls(kind, key)

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.key}"

    @property
    def field(self) -> str:
        """The column in the filter grammar (order_by)."""
        if self.kind == "attribute":
            return self.key
        return f"{_PLURAL[self.kind]}.`{self.key}`"

    @property
    def label(self) -> str:
        return ATTRIBUTES[self.key] if self.kind == "attribute" else self.key

    @property
    def numeric(self) -> bool:
        return self.kind == "metric"

    def value(self, run: RunRecord) -> Any:
        if self.kind == "attribute":
            found = getattr(run, self.key)
            return getattr(found, "value", found)
        if self.kind == "metric":
            return run.metrics.get(self.key)
        return (run.params if self.kind == "param" else run.tags).get(self.key)


@dataclass(frozen=True)
class Sort:
    column: Column
    descending: bool

    @classmethod
    def parse(cls, text: str) -> Sort:
        """`kind:key` with an optional ` desc`/` asc` (what the table's header links send)."""
        body, _, direction = text.strip().rpartition(" ")
        if direction.lower() not in ("asc", "desc"):
            body, direction = text.strip(), "asc"
        return cls(Column.parse(body), direction.lower() == "desc")

    @property
    def param(self) -> str:
        return f"{self.column.id} {'desc' if self.descending else 'asc'}"

    @property
    def order_by(self) -> str:
        return f"{self.column.field} {'DESC' if self.descending else 'ASC'}"

    def toggled(self, column: Column) -> Sort:
        """Where a click on `column`'s header goes: the other direction if it is the sort,
        else numbers and times largest first, text A to Z."""
        if column == self.column:
            return Sort(column, not self.descending)
        return Sort(column, column.numeric or column.key in ("start_time", "end_time"))


def page_size(text: str, default: int = 50) -> int:
    if not text:
        return default
    if not text.isdigit() or int(text) not in PAGE_SIZES:
        raise InvalidInput(f"rows per page must be one of {', '.join(map(str, PAGE_SIZES))}")
    return int(text)


def finite(value: float) -> float | None:
    """A number for JSON (scripts read it with JSON.parse): NaN and infinities as null."""
    return value if math.isfinite(value) else None


def thin(points: list[Any], most: int) -> list[Any]:
    """At most `most` points, evenly spaced, the first and last kept (for charts; tables show
    the numbers themselves)."""
    if len(points) <= most:
        return points
    step = (len(points) - 1) / (most - 1)
    return [points[round(i * step)] for i in range(most)]
