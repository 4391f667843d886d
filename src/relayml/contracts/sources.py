"""Turn what users hand us into a stream of pyarrow RecordBatches.

Accepted: pyarrow Table / RecordBatch / RecordBatchReader, pandas and polars DataFrames, an
iterable of RecordBatches, and paths to Parquet files (read row group by row group) or CSV
files (read block by block), so a file larger than memory is validated in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from relayml.errors import InvalidInput, NotFound

BATCH_ROWS = 1 << 20
CSV_BLOCK_BYTES = 64 << 20


def batches(data: Any, batch_rows: int = BATCH_ROWS) -> Iterator[Any]:
    """Yield the data as RecordBatches without loading a file whole."""
    import pyarrow as pa

    if isinstance(data, str | Path):
        yield from _file_batches(Path(data), batch_rows)
    elif isinstance(data, pa.RecordBatch):
        yield data
    elif isinstance(data, pa.Table):
        yield from data.to_batches(max_chunksize=batch_rows)
    elif isinstance(data, pa.RecordBatchReader):
        yield from data
    elif _is_pandas(data):
        yield from pa.Table.from_pandas(data, preserve_index=False).to_batches(batch_rows)
    elif hasattr(data, "to_arrow") and callable(data.to_arrow):  # polars, Relay datasets
        yield from batches(data.to_arrow(), batch_rows)
    elif hasattr(data, "__iter__") and not isinstance(data, dict | bytes):
        for item in data:
            yield from batches(item, batch_rows)
    else:
        raise InvalidInput(
            f"cannot validate a {type(data).__name__}; pass a pandas, polars or pyarrow table, "
            "or the path of a Parquet or CSV file"
        )


def _is_pandas(data: Any) -> bool:
    return type(data).__module__.startswith("pandas") and hasattr(data, "columns")


def csv_batches(path: Path, dtypes: Mapping[str, str] | None = None) -> Iterator[Any]:
    """A CSV file block by block, with ``dtypes`` (column -> Arrow type name such as "int64",
    "float64", "string", "bool", "date32", "timestamp[s]") fixing those columns' types; a value
    that does not fit its column's type is reported with the column's name and the row."""
    import pyarrow as pa
    import pyarrow.csv as csv

    types = _arrow_types(dtypes or {})
    parse = csv.ParseOptions(delimiter="\t" if ".tsv" in path.suffixes else ",")
    read = csv.ReadOptions(block_size=CSV_BLOCK_BYTES)
    convert = csv.ConvertOptions(column_types=types)
    try:
        reader = csv.open_csv(
            str(path), read_options=read, parse_options=parse, convert_options=convert
        )
    except Exception as exc:
        raise InvalidInput(f"cannot read CSV file {str(path)!r}: {exc}") from None
    unknown = [c for c in types if c not in reader.schema.names]
    if unknown:
        raise InvalidInput(
            f"dtypes name column(s) {unknown} that CSV file {str(path)!r} does not have; "
            f"it has {reader.schema.names}"
        )
    rows = 0
    try:
        for batch in reader:
            rows += batch.num_rows
            yield batch
    except pa.ArrowInvalid as exc:  # a later block that does not fit the column's type
        where = _bad_value(path, reader.schema, rows, parse)
        how = (
            "the type given in dtypes"
            if where and where[0] in types
            else "the type inferred from the file's first block"
        )
        at = f"column {where[0]!r} changed type at data row {where[1]}: " if where else ""
        raise InvalidInput(
            f"cannot read CSV file {str(path)!r}: {at}{exc}. The value does not fit {how}; "
            "give the column's type explicitly (relay drift: --dtype column=type, dtypes=) or "
            "convert the file to Parquet with explicit types",
            **({"column": where[0], "row": where[1]} if where else {}),
        ) from None


def _arrow_types(dtypes: Mapping[str, str]) -> dict[str, Any]:
    import pyarrow as pa

    types = {}
    for name, text in dtypes.items():
        try:
            types[name] = pa.type_for_alias(str(text))
        except (ValueError, KeyError):
            raise InvalidInput(
                f"unknown type {text!r} for column {name!r}; use an Arrow type name such as "
                "int64, float64, string, bool, date32 or timestamp[s]"
            ) from None
    return types


def _bad_value(path: Path, schema: Any, start: int, parse: Any) -> tuple[str, int] | None:
    """The first (column, 1-based data row) at or after ``start`` whose text does not convert
    to the column's type: re-read as text, only after a failure."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as csv

    as_text = csv.ConvertOptions(column_types={n: pa.string() for n in schema.names})
    reader = csv.open_csv(
        str(path),
        read_options=csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
        parse_options=parse,
        convert_options=as_text,
    )
    seen = 0
    for batch in reader:
        if seen + batch.num_rows > start:
            for name, field in zip(schema.names, schema, strict=True):
                if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
                    continue
                col = batch.column(name)
                for i in range(max(0, start - seen), batch.num_rows):
                    text = col[i].as_py()
                    if text is None or text == "":
                        continue
                    try:
                        pc.cast(pa.array([text]), field.type)
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                        return name, seen + i + 1
        seen += batch.num_rows
    return None


def _file_batches(path: Path, batch_rows: int) -> Iterator[Any]:
    import pyarrow.parquet as pq

    if not path.exists():
        raise NotFound(f"no such file: {str(path)!r}; pass the path of a Parquet or CSV file")
    suffix = path.suffix.lower()
    if path.is_dir() or suffix in (".parquet", ".pq"):
        import pyarrow.dataset as pds

        dataset = pds.dataset(str(path), format="parquet")
        yield from dataset.to_batches(batch_size=batch_rows)
        return
    if suffix in (".csv", ".tsv", ".txt", ".gz"):
        yield from csv_batches(path)
        return
    try:
        yield from pq.ParquetFile(str(path)).iter_batches(batch_size=batch_rows)
    except Exception as exc:
        raise InvalidInput(
            f"{str(path)!r} is neither a Parquet nor a CSV file ({exc}); name it .parquet or .csv"
        ) from None
