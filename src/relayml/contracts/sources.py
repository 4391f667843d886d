"""Turn what users hand us into a stream of pyarrow RecordBatches.

Accepted: pyarrow Table / RecordBatch / RecordBatchReader, pandas and polars DataFrames, an
iterable of RecordBatches, and paths to Parquet files (read row group by row group) or CSV
files (read block by block), so a file larger than memory is validated in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator
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


def _file_batches(path: Path, batch_rows: int) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.csv as csv
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
        parse = csv.ParseOptions(delimiter="\t" if ".tsv" in path.suffixes else ",")
        read = csv.ReadOptions(block_size=CSV_BLOCK_BYTES)
        try:
            reader = csv.open_csv(str(path), read_options=read, parse_options=parse)
        except Exception as exc:
            raise InvalidInput(f"cannot read CSV file {str(path)!r}: {exc}") from None
        try:
            yield from reader
        except pa.ArrowInvalid as exc:  # a later block that does not fit the inferred types
            raise InvalidInput(
                f"cannot read CSV file {str(path)!r}: {exc}. Column types are inferred from the "
                "file's first block; convert the file to Parquet with explicit types"
            ) from None
        return
    try:
        yield from pq.ParquetFile(str(path)).iter_batches(batch_size=batch_rows)
    except Exception as exc:
        raise InvalidInput(
            f"{str(path)!r} is neither a Parquet nor a CSV file ({exc}); name it .parquet or .csv"
        ) from None
