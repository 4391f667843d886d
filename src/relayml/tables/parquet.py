"""Dataset versions as normalized Parquet files, streamed batch by batch, and their digest.

Every input (pandas, polars, pyarrow Table/RecordBatchReader, Parquet or CSV path) is read as a
stream of record batches, re-cut into batches of exactly ``ROWS_PER_BATCH`` rows (the last one
shorter) and written with fixed options, so memory stays bounded by one batch whatever the
input's size.

**The content digest** is the sha256 of: a format tag, the schema (field names, types and
nullability; no metadata), then for each ``ROWS_PER_BATCH``-row batch of the *stored file, read
back*, the Arrow IPC serialization of that batch after dictionary columns are decoded and each
column with nulls is split into its validity (a boolean column) and its values with the nulls
filled by a zero value. So the digest depends on the logical content only: not on how the input
was chunked, which Parquet encodings or compression were used, or whatever bytes sat beneath null
slots; the same values with the same schema always get the same digest.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from relayml.errors import InvalidInput
from relayml.tables.csv import is_csv, open_csv

ROWS_PER_BATCH = 65_536
DIGEST_FORMAT = b"relay-dataset-digest/1\n"

Progress = Callable[[int], None]  # rows done so far


def rechunk(batches: Iterable[pa.RecordBatch], rows: int = ROWS_PER_BATCH) -> Iterator[Any]:
    """Re-cut a stream of batches into batches of exactly ``rows`` rows (the last one shorter)."""
    pending: list[pa.RecordBatch] = []
    have = 0
    for batch in batches:
        while batch.num_rows:
            take = min(rows - have, batch.num_rows)
            pending.append(batch.slice(0, take))
            have += take
            batch = batch.slice(take)
            if have == rows:
                yield _combine(pending)
                pending, have = [], 0
    if have:
        yield _combine(pending)


def _combine(batches: list[pa.RecordBatch]) -> Any:
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


# --- the digest -----------------------------------------------------------------------------


def schema_fields(schema: pa.Schema) -> list[dict[str, Any]]:
    return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]


class ContentDigest:
    """The logical content digest (see the module docstring); feed it every rechunked batch."""

    def __init__(self, schema: pa.Schema) -> None:
        self._h = hashlib.sha256(DIGEST_FORMAT)
        for f in schema_fields(schema):
            self._h.update(f"{f['name']}\x1f{f['type']}\x1f{f['nullable']}\x1e".encode())
        self._h.update(b"\n")

    def update(self, batch: pa.RecordBatch) -> None:
        import pyarrow.compute as pc  # here: a client writing a file does not need it

        columns: list[Any] = []
        names: list[str] = []
        for name, col in zip(batch.schema.names, batch.columns, strict=True):
            if pa.types.is_dictionary(col.type):
                col = pc.cast(col, col.type.value_type)
            if col.null_count:
                filled = _fill_nulls(col)
                if filled is not None:
                    columns += [pc.is_valid(col), filled]
                    names += [f"{name}\x1fvalid", name]
                    continue
            columns.append(col)
            names.append(name)
        canonical = pa.RecordBatch.from_arrays(columns, names=names)
        self._h.update(canonical.serialize())

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def _fill_nulls(col: Any) -> Any | None:
    import pyarrow.compute as pc

    t = col.type
    try:
        if pa.types.is_null(t):
            return None
        return pc.fill_null(col, _zero(t))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None  # nested types: hashed as they are


def _zero(t: Any) -> Any:
    """False, "", b"" or 0 as a scalar of type ``t``. Built from buffers: ``pa.scalar`` on a
    Python value makes pyarrow import pandas (0.3 s on every publish)."""
    if pa.types.is_boolean(t):
        return pa.Array.from_buffers(t, 1, [None, pa.py_buffer(b"\0")])[0]
    if pa.types.is_string(t) or pa.types.is_binary(t):
        return pa.Array.from_buffers(t, 1, [None, pa.py_buffer(bytes(8)), pa.py_buffer(b"")])[0]
    if pa.types.is_large_string(t) or pa.types.is_large_binary(t):
        return pa.Array.from_buffers(t, 1, [None, pa.py_buffer(bytes(16)), pa.py_buffer(b"")])[0]
    zero = pa.Array.from_buffers(pa.int8(), 1, [None, pa.py_buffer(b"\0")])
    return zero.cast(t)[0]


# --- reading inputs -------------------------------------------------------------------------


def open_input(
    data: Any,
    dtypes: Mapping[str, str] | None = None,
    contract_types: Mapping[str, str] | None = None,
) -> tuple[pa.Schema, Iterator[Any], int | None]:
    """``(schema, batches, total rows if known)`` for any supported input, streamed. A CSV
    file's columns are read with ``dtypes`` (column -> type name) or else ``contract_types``
    (see ``relayml.tables.csv``); ``dtypes`` for any other input is refused."""
    if isinstance(data, str | os.PathLike) and is_csv(data):
        schema, batches = open_csv(data, dtypes, contract_types=contract_types)
        return schema, batches, None
    if dtypes:
        what = repr(str(data)) if isinstance(data, str | os.PathLike) else type(data).__name__
        raise InvalidInput(
            f"dtypes= applies to CSV files, and {what} is not one: its columns have their "
            "types already"
        )
    if isinstance(data, str | os.PathLike):
        return _open_path(Path(data))
    if isinstance(data, pa.Table):
        return _plain(data.schema), iter(data.to_batches(max_chunksize=ROWS_PER_BATCH)), len(data)
    if isinstance(data, pa.RecordBatch):
        return _plain(data.schema), iter([data]), data.num_rows
    if isinstance(data, pa.RecordBatchReader):
        return _plain(data.schema), iter(data), None
    module = type(data).__module__
    if module.startswith("pandas") and hasattr(data, "dtypes"):
        return _open_pandas(data)
    if module.startswith("polars") and hasattr(data, "to_arrow"):
        table = data.to_arrow()
        return _plain(table.schema), iter(table.to_batches(ROWS_PER_BATCH)), len(table)
    raise InvalidInput(
        f"cannot publish a {type(data).__name__}; pass a pandas or polars DataFrame, a pyarrow "
        "Table or RecordBatchReader, or the path of a Parquet or CSV file"
    )


def _plain(schema: pa.Schema) -> pa.Schema:
    return schema.remove_metadata()


def _open_pandas(df: Any) -> tuple[pa.Schema, Iterator[Any], int | None]:
    try:
        schema = _plain(pa.Schema.from_pandas(df, preserve_index=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InvalidInput(
            f"cannot convert the DataFrame to Arrow: {exc}; give mixed-type object columns "
            "one type (e.g. df[col].astype(str))"
        ) from None

    def batches() -> Iterator[Any]:
        for start in range(0, len(df), ROWS_PER_BATCH):
            part = df.iloc[start : start + ROWS_PER_BATCH]
            batch = pa.RecordBatch.from_pandas(part, schema=schema, preserve_index=False)
            yield batch.replace_schema_metadata(None)

    return schema, batches(), len(df)


def _open_path(path: Path) -> tuple[pa.Schema, Iterator[Any], int | None]:
    if not path.exists():
        raise InvalidInput(f"no such file {str(path)!r}; give the path of a Parquet or CSV file")
    try:
        if path.is_dir():
            import pyarrow.dataset as pds

            dataset = pds.dataset(path, format="parquet")
            return _plain(dataset.schema), _strip(dataset.to_batches()), dataset.count_rows()
        pf = open_parquet(path)
        batches = pf.iter_batches(batch_size=ROWS_PER_BATCH)
        return _plain(pf.schema_arrow), _strip(batches), pf.metadata.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(
            f"could not read {str(path)!r} as Parquet: {exc}; give a Parquet file or folder, "
            "or a CSV file named .csv"
        ) from None


def open_parquet(path: str | os.PathLike[str]) -> Any:
    # pre_buffer (pyarrow's default) reads the whole file ahead into memory: a 10 GB file
    # would need 10 GB. Read one row group's columns at a time, through a 1 MB buffer.
    return pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)


def _strip(batches: Iterable[Any]) -> Iterator[Any]:
    for b in batches:
        yield b.replace_schema_metadata(None)


def write_normalized(
    data: Any,
    dest: str | os.PathLike[str],
    progress: Progress | None,
    *,
    dtypes: Mapping[str, str] | None = None,
    contract_types: Mapping[str, str] | None = None,
) -> int:
    """Stream ``data`` into a normalized Parquet file at ``dest``; returns the row count. CSV
    columns are read with ``dtypes``, else ``contract_types``, else inferred (``open_input``)."""
    schema, batches, _ = open_input(data, dtypes, contract_types)
    rows = 0
    with pq.ParquetWriter(dest, schema, compression="zstd") as writer:
        for batch in rechunk(batches):
            if batch.schema != schema:
                batch = pa.RecordBatch.from_arrays(batch.columns, schema=schema)
            writer.write_batch(batch, row_group_size=ROWS_PER_BATCH)
            rows += batch.num_rows
            if progress is not None:
                progress(rows)
    return rows


def input_rows(data: Any) -> int | None:
    """The input's row count when it is known without reading it (for progress bars)."""
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        if path.is_file() and path.suffix.lower() in (".parquet", ".pq"):
            try:
                return int(pq.ParquetFile(path).metadata.num_rows)
            except (pa.ArrowInvalid, OSError):
                return None
        return None
    try:
        return len(data)
    except TypeError:
        return None


def read_batches(
    path: str | os.PathLike[str], columns: list[str] | None = None
) -> tuple[pa.Schema, Iterator[Any]]:
    """A stored (or uploaded) Parquet file as its schema and rechunked batches (of only
    ``columns`` when given: Parquet decodes no other column)."""
    try:
        pf = open_parquet(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(f"the uploaded dataset is not a readable Parquet file: {exc}") from None
    schema = _plain(pf.schema_arrow)
    batches = pf.iter_batches(batch_size=ROWS_PER_BATCH, columns=columns)
    return schema, rechunk(_strip(batches))
