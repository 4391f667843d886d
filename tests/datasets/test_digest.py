"""Content addressing: the digest depends on the logical content only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from relayml.tables.parquet import ROWS_PER_BATCH, ContentDigest, read_batches, write_normalized


def digest_of(data: object, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.parquet"
    write_normalized(data, path, None)
    schema, batches = read_batches(path)
    h = ContentDigest(schema)
    for b in batches:
        h.update(b)
    return h.hexdigest()


def frame(n: int = 150_000) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    amount = rng.normal(size=n)
    amount[::7] = np.nan  # NaN becomes null: pandas leaves NaN bytes beneath the null slot
    return pd.DataFrame({"id": np.arange(n), "amount": amount, "grade": rng.choice(["a", "b"], n)})


def test_same_content_any_chunking_or_input_kind_same_digest(tmp_path: Path) -> None:
    df = frame()
    table = pa.Table.from_pandas(df, preserve_index=False)
    odd_chunks = pa.Table.from_batches(table.to_batches(max_chunksize=999))
    pq.write_table(table, tmp_path / "src.parquet", row_group_size=10_000, compression="gzip")
    # the same values built without pandas: null slots hold zeros, not NaN bytes
    amount = pa.array(df["amount"].to_numpy(), mask=df["amount"].isna().to_numpy())
    rebuilt = table.set_column(1, "amount", amount)
    digests = {
        digest_of(df, tmp_path, "pandas"),
        digest_of(odd_chunks, tmp_path, "chunks"),
        digest_of(tmp_path / "src.parquet", tmp_path, "file"),
        digest_of(rebuilt, tmp_path, "rebuilt"),
        digest_of(
            pa.RecordBatchReader.from_batches(table.schema, table.to_batches(5000)),
            tmp_path,
            "reader",
        ),
    }
    assert len(digests) == 1


def test_any_change_changes_the_digest(tmp_path: Path) -> None:
    df = frame(1000)
    base = digest_of(df, tmp_path, "base")
    one_value = df.copy()
    one_value.loc[500, "amount"] = 0.5
    renamed = df.rename(columns={"grade": "Grade"})
    reordered = df.iloc[::-1].reset_index(drop=True)
    retyped = df.assign(id=df["id"].astype("int32"))
    others = [
        digest_of(d, tmp_path, f"d{i}")
        for i, d in enumerate([one_value, renamed, reordered, retyped])
    ]
    assert base not in others and len(set(others)) == 4


def test_written_file_has_fixed_row_groups(tmp_path: Path) -> None:
    rows = write_normalized(frame(ROWS_PER_BATCH * 2 + 5), tmp_path / "x.parquet", None)
    meta = pq.ParquetFile(tmp_path / "x.parquet").metadata
    assert rows == ROWS_PER_BATCH * 2 + 5
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [
        ROWS_PER_BATCH,
        ROWS_PER_BATCH,
        5,
    ]
