"""Bring any supported input to a pyarrow Table and settle each column's kind.

Supported: pyarrow Table, pandas DataFrame, polars DataFrame (when polars is installed), and a
path to a Parquet file or directory. Only the columns asked for are read from Parquet.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from relayml.domain.enums import parse_enum
from relayml.errors import InvalidInput
from relayml.stats.kinds import ColumnKind, infer_kind


def to_arrow(data: Any, columns: Sequence[str] | None = None, *, side: str = "data") -> Any:
    """A pyarrow Table for ``data`` (restricted to ``columns`` when given)."""
    if isinstance(data, pa.Table):
        table = data
    elif isinstance(data, pa.RecordBatch):
        table = pa.Table.from_batches([data])
    elif isinstance(data, (str, os.PathLike)):
        table = _read_parquet(Path(data), columns, side)
    elif _is_pandas(data):
        table = _from_pandas(data, columns)
    elif _is_polars(data):
        table = data.to_arrow()
    else:
        raise InvalidInput(
            f"cannot compare {side} of type {type(data).__name__}; pass a pandas or polars "
            "DataFrame, a pyarrow Table, or the path of a Parquet file"
        )
    if columns is not None:
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise unknown_columns(side, missing, table.column_names)
        table = table.select(list(columns))
    return table


def unknown_columns(side: str, missing: Sequence[str], available: Sequence[str]) -> InvalidInput:
    """The error for columns the ``side`` lacks: its columns, and the closest name to each."""
    import difflib

    hints = []
    for name in missing:
        close = difflib.get_close_matches(name, list(available), n=1)
        if close:
            hints.append(f"did you mean {close[0]!r} for {name!r}?")
    shown = list(available[:50]) + (["..."] if len(available) > 50 else [])
    return InvalidInput(
        f"{side} has no column(s) {list(missing)}; it has {shown}"
        + (f"; {' '.join(hints)}" if hints else ""),
        missing=list(missing),
        available=list(available),
    )


def _read_parquet(path: Path, columns: Sequence[str] | None, side: str) -> Any:
    import pyarrow.parquet as pq

    if not path.exists():
        text = str(path)
        hint = (
            " A dataset reference like 'name@version' is read through relay.drift.compare or "
            "`relay drift` (with the project that holds it), not by the statistics layer."
            if "@" in text
            else ""
        )
        raise InvalidInput(f"{side} {text!r} is not an existing Parquet file or folder.{hint}")
    try:
        if columns is not None:
            names = pq.read_schema(path).names if path.is_file() else _dir_names(path)
            missing = [c for c in columns if c not in names]
            if missing:
                raise unknown_columns(side, missing, names)
        return pq.read_table(path, columns=list(columns) if columns is not None else None)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(f"could not read {side} {str(path)!r} as Parquet: {exc}") from exc


def _dir_names(path: Path) -> list[str]:
    import pyarrow.dataset as pds

    return list(pds.dataset(str(path), format="parquet").schema.names)


def _is_pandas(data: Any) -> bool:
    mod = type(data).__module__
    return mod.startswith("pandas") and hasattr(data, "columns") and hasattr(data, "dtypes")


def _is_polars(data: Any) -> bool:
    return type(data).__module__.startswith("polars") and hasattr(data, "to_arrow")


def _from_pandas(df: Any, columns: Sequence[str] | None) -> Any:
    if columns is not None:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise unknown_columns("data", missing, [str(c) for c in df.columns])
        df = df[list(columns)]
    arrays, names = [], []
    for name in df.columns:
        series = df[name]
        try:
            arr = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # mixed-type object column: compare its values as text, keeping nulls as nulls
            arr = pa.array([None if v is None or v != v else str(v) for v in series])
        arrays.append(arr)
        names.append(str(name))
    return pa.Table.from_arrays(arrays, names=names)


def resolve_kinds(
    table: Any,
    columns: Iterable[str],
    categorical: Iterable[str] | None = None,
    overrides: Mapping[str, ColumnKind | str] | None = None,
) -> tuple[dict[str, ColumnKind], dict[str, str]]:
    """Each column's kind (inferred, then overridden) and the columns skipped, with why."""
    forced: dict[str, ColumnKind] = {c: ColumnKind.CATEGORICAL for c in categorical or ()}
    for name, given in (overrides or {}).items():
        forced[name] = parse_enum(ColumnKind, f"kind for column {name!r}:", given)
    unknown = [c for c in forced if c not in table.column_names]
    if unknown:
        raise InvalidInput(
            f"kind given for column(s) {unknown} that the data does not have",
            missing=unknown,
        )
    kinds: dict[str, ColumnKind] = {}
    skipped: dict[str, str] = {}
    for name in columns:
        arrow_type = table.schema.field(name).type
        kind = forced.get(name) or infer_kind(arrow_type)
        if kind is None:
            skipped[name] = f"type {arrow_type} has no drift test"
        elif kind.is_ordered and infer_kind(arrow_type) not in (
            ColumnKind.NUMERIC,
            ColumnKind.DATETIME,
        ):
            raise InvalidInput(
                f"column {name!r} has type {arrow_type}, which cannot be compared as {kind.value}"
            )
        else:
            kinds[name] = kind
    return kinds, skipped
