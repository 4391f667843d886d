"""The scored file, written whole or not at all.

Batches go to a temporary file beside the output (``.scored.parquet.relay-<pid>-<random>.tmp``,
the same filesystem, so the final rename is atomic); only when the last batch is written is it
flushed to disk and renamed into place. An error, Ctrl-C or SIGTERM removes the temporary file;
a process killed outright (kill -9, out of memory) leaves it, never a partial output, and the
next scoring to the same output removes the temporary files of processes that are gone.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from relayml.errors import InvalidInput
from relayml.scratch import pid_alive


def check_output(output: Path, inputs: Path) -> None:
    """Refuse, before any work, an output that cannot be written or would overwrite the input."""
    if output.is_dir():
        raise InvalidInput(f"{output} is a folder; give a file name for the scored output")
    if not output.parent.is_dir():
        raise InvalidInput(f"no folder {output.parent} to write the scores in; create it first")
    if output.exists() and inputs.exists() and output.resolve() == inputs.resolve():
        raise InvalidInput(f"the output {output} is the input; write the scores to another file")


def _temp_prefix(output: Path) -> str:
    return f".{output.name}.relay-"


def remove_stale(output: Path) -> list[Path]:
    """Temporary files of earlier scorings to `output` whose process is gone; removed."""
    removed = []
    prefix = _temp_prefix(output)
    for entry in output.parent.glob(f"{prefix}*.tmp"):
        pid = entry.name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


class ScoredWriter:
    """Writes scored tables to a temporary Parquet file; `commit` renames it to `output`.

    Used as a context manager: leaving without `commit` (an error, SIGTERM) removes it."""

    def __init__(self, output: Path, metadata: dict[str, str], row_group_rows: int) -> None:
        self.output = output
        self.metadata = metadata
        self.row_group_rows = row_group_rows
        token = secrets.token_hex(4)
        self.temp = output.with_name(f"{_temp_prefix(output)}{os.getpid()}-{token}.tmp")
        self.rows = 0
        self.schema: pa.Schema | None = None
        self._writer: Any = None
        self._done = False

    def __enter__(self) -> ScoredWriter:
        remove_stale(self.output)
        return self

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._open(table.schema)
        elif not table.schema.equals(self.schema, check_metadata=False):
            table = table.cast(self.schema)
        self._writer.write_table(table, row_group_size=self.row_group_rows)
        self.rows += table.num_rows

    def _open(self, schema: pa.Schema) -> None:
        self.schema = schema.with_metadata(self.metadata)
        self._writer = pq.ParquetWriter(self.temp, self.schema, compression="zstd")

    def commit(self, empty: Callable[[], pa.Schema]) -> None:
        """Finish the file and rename it into place (`empty()` gives the schema of an output
        with no rows)."""
        if self._writer is None:
            self._open(empty())
        self._writer.close()
        with open(self.temp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(self.temp, self.output)
        self._done = True

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._done:
            return
        if self._writer is not None:
            with contextlib.suppress(Exception):  # removed next; the first error stands
                self._writer.close()
        self.temp.unlink(missing_ok=True)
