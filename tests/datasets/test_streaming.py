"""Publishing and profiling stream: a file larger than the process's memory limit publishes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROWS = 2_600_000
COLUMNS = 8
HEADROOM = 150 << 20  # the address space the publish may add on top of the warmed-up process

CHILD = """
import resource, sys
import pyarrow as pa
pa.set_cpu_count(1); pa.set_io_thread_count(1)
import relayml as relay
relay.init(project="mem")
import numpy, pandas, yaml, relayml.stats.profile, relayml.contracts.engine
import relayml.services.datasets
base = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
limit = base + int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
ds = relay.datasets.publish("big", sys.argv[1], contract={"columns": {"c0": {"min": 0}}})
print(ds.ref, ds.rows, ds.status.value, ds.profile["columns"]["c7"]["count"])
"""


def test_publish_a_file_larger_than_the_memory_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    rng = np.random.default_rng(0)
    schema = pa.schema([(f"c{i}", pa.float64()) for i in range(COLUMNS)])
    with pq.ParquetWriter(path, schema, compression="none") as writer:
        for start in range(0, ROWS, 650_000):
            cols = {f"c{i}": rng.random(650_000) for i in range(COLUMNS)}
            writer.write_table(pa.table(cols, schema=schema))
    in_memory = ROWS * COLUMNS * 8
    assert in_memory > HEADROOM and os.path.getsize(path) > HEADROOM
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RELAY_")},
        "RELAY_HOME": str(tmp_path / ".relay"),
        "MALLOC_ARENA_MAX": "2",
        "OMP_NUM_THREADS": "1",
        "ARROW_DEFAULT_MEMORY_POOL": "system",  # returns freed memory, unlike an arena pool
    }
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(HEADROOM)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["big@1", str(ROWS), "valid", str(ROWS)]
