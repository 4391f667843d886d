"""Column kinds: which family of tests a column gets, inferred from its Arrow type.

Numbers and datetimes are compared as distributions on a line (KS, Wasserstein, PSI, JS on
quantile bins); strings, dictionaries and booleans as category frequencies (chi-square, total
variation, PSI, JS, unseen categories). Users override the inference with ``categorical=``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc


class ColumnKind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"

    @property
    def is_ordered(self) -> bool:
        """True when values lie on a line (numeric, datetime), False for category counts."""
        return self in (ColumnKind.NUMERIC, ColumnKind.DATETIME)


def infer_kind(arrow_type: Any) -> ColumnKind | None:
    """The kind for an Arrow type, or None when Relay has no test for it (lists, structs...)."""
    t = arrow_type
    if pa.types.is_dictionary(t):
        return ColumnKind.CATEGORICAL
    if pa.types.is_boolean(t):
        return ColumnKind.BOOLEAN
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return ColumnKind.NUMERIC
    if pa.types.is_temporal(t) and not pa.types.is_time(t) and not pa.types.is_duration(t):
        return ColumnKind.DATETIME
    if pa.types.is_duration(t) or pa.types.is_time(t):
        return ColumnKind.NUMERIC
    if (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    ):
        return ColumnKind.CATEGORICAL
    if pa.types.is_null(t):
        return ColumnKind.CATEGORICAL
    return None


def is_id_type(arrow_type: Any) -> bool:
    """Types ids come in (integers, strings, bytes); a unique float is a measurement."""
    t = arrow_type
    return bool(
        pa.types.is_integer(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    )


def numeric_values(column: Any) -> tuple[npt.NDArray[np.float64], int]:
    """Finite values of an Arrow column as float64, and how many were missing.

    Nulls, NaN and +/-inf all count as missing: none of them has a place on the line.
    Datetimes and durations become their integer value in the column's unit.
    """
    t = column.type
    if pa.types.is_temporal(t):
        if pa.types.is_date32(t):
            column = pc.cast(column, pa.int32())
        elif pa.types.is_date64(t):
            column = pc.cast(column, pa.int64())
        elif pa.types.is_time32(t):
            column = pc.cast(column, pa.int32())
        else:
            column = pc.cast(column, pa.int64())
    if not pa.types.is_float64(column.type):
        column = pc.cast(column, pa.float64())
    values = valid_values(column, np.float64)
    finite = np.isfinite(values)
    n_missing = len(column) - values.size + int(values.size - np.count_nonzero(finite))
    if values.size != np.count_nonzero(finite):
        values = values[finite]
    return values, n_missing


def valid_values(column: Any, dtype: Any) -> npt.NDArray[Any]:
    """The non-null values of a fixed-width Arrow column (Array or ChunkedArray) of ``dtype``,
    read from its buffers. pyarrow's own ``to_numpy`` imports pandas (0.3 s) to do this."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = []
    for chunk in chunks:
        n, offset = len(chunk), chunk.offset
        if n == chunk.null_count:
            continue
        validity, data = chunk.buffers()[:2]
        values = np.frombuffer(data, dtype=dtype, count=offset + n)[offset:]
        if chunk.null_count:
            bits = np.frombuffer(validity, dtype=np.uint8)
            valid = np.unpackbits(bits, count=offset + n, bitorder="little")[offset:]
            values = values[valid.view(bool)]
        parts.append(values)
    if not parts:
        return np.zeros(0, dtype=dtype)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def category_counts(column: Any) -> tuple[dict[str, int], int]:
    """Counts per category (keys as strings) of an Arrow column, and the missing count."""
    values, counts, n_missing = category_values(column)
    return _keyed(values, counts), n_missing


def top_categories(
    values: Any, counts: npt.NDArray[np.int64], top: int
) -> tuple[dict[str, int], int]:
    """The ``top`` most frequent of ``category_values``' categories as ``{key: count}``, and
    the count of the rows in the others. Only those ``top`` become Python objects: a column of
    ten million distinct strings costs its value counts in Arrow, not ten million strings."""
    folded = 0
    if len(values) > top:
        keep = np.sort(np.argpartition(-counts, top - 1)[:top])
        folded = int(counts.sum() - counts[keep].sum())
        indices = pa.Array.from_buffers(pa.int64(), top, [None, pa.py_buffer(keep.tobytes())])
        values, counts = values.take(indices), counts[keep]
    return _keyed(values, counts), folded


def category_values(column: Any) -> tuple[Any, npt.NDArray[np.int64], int]:
    """``(distinct non-null values as an Arrow array, their counts, missing count)``; NaN in a
    float column forced to categorical counts as missing."""
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    if pa.types.is_null(column.type):
        return pa.nulls(0), np.zeros(0, dtype=np.int64), len(column)
    counted = pc.value_counts(column)
    values = counted.field("values")
    counts = valid_values(counted.field("counts"), np.int64)
    present = pc.is_valid(values)
    if pa.types.is_floating(values.type):
        present = pc.and_kleene(present, pc.invert(pc.is_nan(values)))
    n_valid = present.true_count
    if n_valid == len(values):
        return values, counts, 0
    mask = valid_values(pc.cast(present, pa.int8()), np.int8).astype(bool)
    return values.filter(present), counts[mask], int(counts[~mask].sum())


def _keyed(values: Any, counts: Any) -> dict[str, int]:
    """``{key: count}`` for distinct Arrow values: strings are their own keys (one dict built
    in C), other types go through ``_category_key``."""
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return dict(zip(values.to_pylist(), counts.tolist(), strict=True))
    out: dict[str, int] = {}
    for value, count in zip(values.to_pylist(), counts.tolist(), strict=True):
        key = _category_key(value)
        out[key] = out.get(key, 0) + count
    return out


def _category_key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
