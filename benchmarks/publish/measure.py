"""One publish measurement in this process; prints one JSON line. Run by benchmarks/publish/run.py.

    measure.py floor  TABLE          read the Parquet, SHA-256 its bytes, write it back (pyarrow)
    measure.py relay  TABLE [yaml]   relay.datasets.publish, embedded SQLite store (cwd)
    measure.py phases TABLE [yaml]   the same work as publish, timed piece by piece

`phases` repeats what `relay.datasets.publish` does (sdk/datasets.py and services/datasets.py):
write the normalized Parquet file, store it (sha256 + copy), pass one over the stored file
(content digest, contract validation, profile counts per column), pass two (profile bins). Each
call is timed where it happens, so the pieces add up to the whole.
"""

from __future__ import annotations

import hashlib
import json
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor(table: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    digest = hashlib.sha256()
    with table.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    with tempfile.TemporaryDirectory() as tmp:
        pf = pq.ParquetFile(table, pre_buffer=False, buffer_size=1 << 20)
        rows = 0
        with pq.ParquetWriter(Path(tmp) / "copy.parquet", pf.schema_arrow, compression="zstd") as w:
            for batch in pf.iter_batches(batch_size=65_536):
                w.write_batch(batch, row_group_size=65_536)
                rows += batch.num_rows
    return {"seconds": time.perf_counter() - t0, "rows": rows, "peak_mb": peak_mb()}


def relay_publish(table: Path, contract: str | None) -> dict[str, Any]:
    import relayml as relay

    relay.init(project="bench")
    t0 = time.perf_counter()
    ds = relay.datasets.publish("bench", table, contract=contract)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": ds.rows, "status": ds.status.value, "peak_mb": peak_mb()}


def phases(table: Path, contract: str | None) -> dict[str, Any]:
    from relayml.contracts import Validator, contract_from_yaml
    from relayml.stats.profile import Profiler
    from relayml.store.artifacts import ArtifactStore
    from relayml.tables.parquet import ContentDigest, read_batches, write_normalized

    spent: dict[str, float] = defaultdict(float)
    columns: dict[str, float] = defaultdict(float)
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        normalized = Path(tmp) / "data.parquet"
        t0 = time.perf_counter()
        write_normalized(table, normalized, None)
        spent["client: write the normalized Parquet file"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        ArtifactStore(str(Path(tmp) / "store")).put_file(normalized)
        spent["store: sha256 and copy the file"] = time.perf_counter() - t0

        schema, batches = read_batches(normalized)
        digest = ContentDigest(schema)
        profiler = Profiler(schema)
        validator = Validator(contract_from_yaml(contract)) if contract else None
        rows = 0
        while True:
            t0 = time.perf_counter()
            batch = next(batches, None)
            spent["pass 1: read batches"] += time.perf_counter() - t0
            if batch is None:
                break
            t0 = time.perf_counter()
            digest.update(batch)
            spent["pass 1: content digest"] += time.perf_counter() - t0
            profiler.rows += batch.num_rows
            for name, col in zip(batch.schema.names, batch.columns, strict=True):
                t0 = time.perf_counter()
                profiler.columns[name].update(_chunked(col))
                columns[name] += time.perf_counter() - t0
            if validator is not None:
                t0 = time.perf_counter()
                validator.update(batch)
                spent["pass 1: contract validation"] += time.perf_counter() - t0
            rows += batch.num_rows
        spent["pass 1: profile counts (all columns)"] = sum(columns.values())
        t0 = time.perf_counter()
        digest.hexdigest()
        if validator is not None:
            validator.report()
        profiler.start_bins()
        for batch in read_batches(normalized, profiler.bin_columns)[1]:
            profiler.update_bins(batch)
        profiler.profile()
        profiler.sketch()
        spent["pass 2: profile bins, summary, drift sketch"] = time.perf_counter() - t0
    return {
        "seconds": time.perf_counter() - t_all,
        "rows": rows,
        "phases": dict(spent),
        "profile_columns": dict(columns),
        "peak_mb": peak_mb(),
    }


def _chunked(col: Any) -> Any:
    import pyarrow as pa

    return pa.chunked_array([col])


def main() -> None:
    mode, table = sys.argv[1], Path(sys.argv[2])
    contract = Path(sys.argv[3]).read_text() if len(sys.argv) > 3 else None
    if mode == "floor":
        out = floor(table)
    elif mode == "relay":
        out = relay_publish(table, contract)
    elif mode == "phases":
        out = phases(table, contract)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
