"""Summarise a table into a TableSketch: once for a reference, once per current window."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from relayml.errors import InvalidInput
from relayml.stats.kinds import ColumnKind, category_counts, is_id_type, numeric_values
from relayml.stats.sketch import (
    DEFAULT_FINE_BINS,
    DEFAULT_MAX_CATEGORIES,
    MIN_ID_ROWS,
    ColumnSketch,
    NumericSketch,
    TableSketch,
    categorical_sketch,
    numeric_sketch,
)


def summarize_table(
    table: Any,
    kinds: Mapping[str, ColumnKind],
    *,
    like: TableSketch | None = None,
    bins: int = DEFAULT_FINE_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    skipped: Mapping[str, str] | None = None,
) -> TableSketch:
    """Sketch every column of ``kinds``; with ``like``, on the same numeric edges as it.

    ``like`` is how partitions and current windows get bins that merge with and compare to a
    reference: the reference's quantile edges, not their own.
    """
    if bins < 2:
        raise InvalidInput(f"bins must be at least 2, got {bins}")
    columns: dict[str, ColumnSketch] = {}
    for name, kind in kinds.items():
        col = table.column(name)
        if kind.is_ordered:
            values, n_missing = numeric_values(col)
            edges = None
            if like is not None:
                base = like.columns.get(name)
                if not isinstance(base, NumericSketch):
                    raise InvalidInput(
                        f"column {name!r} is {kind.value} here but not numeric in the reference"
                    )
                edges = base.edges
            columns[name] = numeric_sketch(values, n_missing, edges=edges, bins=bins)
        else:
            counts, n_missing = category_counts(col)
            columns[name] = categorical_sketch(counts, n_missing, max_categories)
    ids = id_like_columns(table, list(kinds)) if like is None else []
    return TableSketch(dict(kinds), columns, int(table.num_rows), dict(skipped or {}), ids)


def id_like_columns(table: Any, names: list[str]) -> list[str]:
    """Integer or string columns without missing values that are unique on every row."""
    import pyarrow.compute as pc

    rows = int(table.num_rows)
    if rows < MIN_ID_ROWS:
        return []
    found = []
    for name in names:
        col = table.column(name)
        unique = is_id_type(col.type) and col.null_count == 0
        if unique and int(pc.count_distinct(col).as_py()) == rows:
            found.append(name)
    return found
