"""The table to score, read in bounded memory: a Parquet file, a folder of Parquet files, or a
CSV file read by Relay's one CSV reader (`tables.csv`) with the model signature's column types.

Only the columns scoring needs are decoded, and batches never exceed the asked row count, so
memory stays bounded by one batch (plus the Parquet reader's 1 MB buffer) whatever the size.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from relayml.domain.models import ColumnType, Signature
from relayml.errors import InvalidInput
from relayml.tables.csv import is_csv, open_csv
from relayml.tables.parquet import open_parquet, rechunk

# The CSV type a signature's column is read as, so "00501" stays a string zip code.
CSV_TYPES = {
    ColumnType.INTEGER: "int64",
    ColumnType.FLOAT: "float64",
    ColumnType.BOOLEAN: "bool",
    ColumnType.STRING: "string",
    ColumnType.DATETIME: "timestamp[us]",
}


@dataclass(frozen=True)
class Source:
    """A scoring input: where it is, which format, its columns."""

    path: Path
    kind: str  # "parquet" (a file or a folder of files) or "csv"
    schema: pa.Schema
    rows: int | None  # when known without reading the data
    csv_types: Mapping[str, str]  # CSV only: the type each column is read as, when given


def open_source(
    path: str | os.PathLike[str],
    signature: Signature | None,
    dtypes: Mapping[str, str] | None = None,
) -> Source:
    """The input at `path`, its schema read (a Parquet footer, a CSV header and first block)
    but none of its data. A CSV file's columns are read with `dtypes` (column -> type), else
    the signature's types, else inferred."""
    p = Path(path)
    if not p.exists():
        raise InvalidInput(
            f"no such file or folder {str(p)!r}; give the Parquet or CSV file to score"
        )
    if is_csv(p):
        types = {c.name: CSV_TYPES[c.type] for c in signature.inputs} if signature else {}
        schema, batches = open_csv(
            p, dtypes, contract_types=types, declared_in="the model's signature"
        )
        close = getattr(batches, "close", None)
        if close is not None:
            close()
        return Source(p, "csv", schema, None, {**types, **(dtypes or {})})
    if dtypes:
        raise InvalidInput(
            f"--dtype applies to CSV files, and {str(p)!r} is not one: Parquet columns have "
            "their types already"
        )
    try:
        if p.is_dir():
            import pyarrow.dataset as pds

            dataset = pds.dataset(p, format="parquet")
            if not dataset.files:
                raise InvalidInput(f"the folder {str(p)!r} holds no Parquet file to score")
            return Source(p, "parquet", dataset.schema.remove_metadata(), None, {})
        pf = open_parquet(p)
        return Source(p, "parquet", pf.schema_arrow.remove_metadata(), pf.metadata.num_rows, {})
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(
            f"could not read {str(p)!r} as Parquet: {exc}; give a Parquet file or folder, "
            "or a CSV file named .csv"
        ) from None


def read_batches(source: Source, columns: list[str], rows: int) -> Iterator[Any]:
    """`source`'s `columns`, as record batches of at most `rows` rows, in file order (a CSV
    file's blocks are cut to size; Parquet is read `rows` at a time)."""
    if source.kind == "csv":
        _, batches = open_csv(
            source.path, None, contract_types=source.csv_types,
            declared_in="the model's signature",
        )  # fmt: skip
        return rechunk((b.select(columns) for b in batches), rows)
    if source.path.is_dir():
        import pyarrow.dataset as pds

        dataset = pds.dataset(source.path, format="parquet")
        # one fragment and one batch ahead at most: a folder of large files stays bounded
        return iter(
            dataset.to_batches(
                columns=columns, batch_size=rows, batch_readahead=1, fragment_readahead=1
            )
        )
    return iter(open_parquet(source.path).iter_batches(batch_size=rows, columns=columns))


def parts(source: Source) -> list[dict[str, Any]]:
    """`source` cut into pieces read independently, in order (for Ray): each row group of each
    Parquet file (a folder's files in the order `read_batches` reads them), or the CSV file."""
    if source.kind == "csv":
        return [{"path": str(source.path), "row_group": -1}]
    if source.path.is_dir():
        import pyarrow.dataset as pds

        files = list(pds.dataset(source.path, format="parquet").files)
    else:
        files = [str(source.path)]
    return [
        {"path": f, "row_group": g}
        for f in files
        for g in range(open_parquet(f).metadata.num_row_groups)
    ]


def read_part(source: Source, part: dict[str, Any], columns: list[str], rows: int) -> Iterator[Any]:
    """One of `parts(source)`: its `columns`, as record batches of at most `rows` rows."""
    if part["row_group"] < 0:
        return read_batches(source, columns, rows)
    pf = open_parquet(part["path"])
    return iter(pf.iter_batches(batch_size=rows, row_groups=[part["row_group"]], columns=columns))
