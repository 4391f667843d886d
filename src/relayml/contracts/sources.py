"""Turn what users hand us into a stream of pyarrow RecordBatches.

Accepted: pyarrow Table / RecordBatch / RecordBatchReader, pandas and polars DataFrames, an
iterable of RecordBatches, and paths to Parquet files (read row group by row group) or CSV
files (read block by block by ``relayml.tables.csv``, the reader publish and drift use too), so
a file larger than memory is validated in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from relayml.errors import InvalidInput, NotFound
from relayml.tables.csv import is_csv, open_csv

BATCH_ROWS = 1 << 20


def batches(
    data: Any,
    batch_rows: int = BATCH_ROWS,
    *,
    dtypes: Mapping[str, str] | None = None,
    contract_types: Mapping[str, str] | None = None,
) -> Iterator[Any]:
    """Yield the data as RecordBatches without loading a file whole. A CSV file is read with
    ``dtypes`` (column -> type name, named by the user) and ``contract_types`` (the contract's
    declared types) fixing its columns' types (``relayml.tables.csv``); ``dtypes`` given for
    anything but a CSV file is refused."""
    import pyarrow as pa

    if dtypes and not (isinstance(data, str | Path) and is_csv(data)):
        raise InvalidInput(
            f"dtypes= applies to CSV files, and {_what(data)} is not one: its columns have "
            "their types already"
        )
    if isinstance(data, str | Path):
        yield from _file_batches(Path(data), batch_rows, dtypes, contract_types)
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


def _what(data: Any) -> str:
    return repr(str(data)) if isinstance(data, str | Path) else f"a {type(data).__name__}"


def _is_pandas(data: Any) -> bool:
    return type(data).__module__.startswith("pandas") and hasattr(data, "columns")


def _file_batches(
    path: Path,
    batch_rows: int,
    dtypes: Mapping[str, str] | None,
    contract_types: Mapping[str, str] | None,
) -> Iterator[Any]:
    import pyarrow.parquet as pq

    if not path.exists():
        raise NotFound(f"no such file: {str(path)!r}; pass the path of a Parquet or CSV file")
    suffix = path.suffix.lower()
    if path.is_dir() or suffix in (".parquet", ".pq"):
        import pyarrow.dataset as pds

        dataset = pds.dataset(str(path), format="parquet")
        yield from dataset.to_batches(batch_size=batch_rows)
        return
    if is_csv(path):
        _, rows = open_csv(path, dtypes, contract_types=contract_types)
        yield from rows
        return
    try:
        yield from pq.ParquetFile(str(path)).iter_batches(batch_size=batch_rows)
    except Exception as exc:
        raise InvalidInput(
            f"{str(path)!r} is neither a Parquet nor a CSV file ({exc}); name it .parquet or .csv"
        ) from None
