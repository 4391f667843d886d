"""Batch scoring: a table of any size through a registry model, in bounded memory.

    result = relay.models.score("churn@production", "input.parquet", "scored.parquet")
    result.rows, result.version.ref, result.seconds
    relay score churn@production input.parquet -o scored.parquet [--executor ray]

The model is fetched from the registry and loaded by the safe loader (its sha256 checked, skops'
allow-list, pickle only on request); the input's columns are checked against its signature
before any data is read; the input is read `batch_rows` rows at a time (only the columns
needed), each batch predicted and appended to the output, which is renamed into place only when
complete (`output.py`). With ``executor="ray"`` the batches are predicted by Ray Data actors
across the cluster (`ray.py`) and streamed back, in order, to the same writer. See
docs/ml-engineer.md, "Batch scoring".
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relayml.domain.models import ModelVersion
from relayml.domain.pipelines import ExecutorKind, parse_executor
from relayml.errors import InvalidInput

__all__ = ["METADATA_KEY", "ScoreResult", "score"]

METADATA_KEY = "relay.scoring"  # the output's schema metadata key (JSON: model, version, ...)

DEFAULT_BATCH_ROWS = 65_536
MAX_BATCH_ROWS = 1 << 24

Progress = Callable[[int, int | None], None]  # rows scored so far, total rows if known


@dataclass(frozen=True)
class ScoreResult:
    """What a scoring job wrote, and with which model version."""

    output: Path
    rows: int
    ref: str  # as asked ("churn@production")
    version: ModelVersion  # what it resolved to, and scored with
    executor: str
    seconds: float
    columns: tuple[str, ...]  # the output's columns

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "rows": self.rows,
            "ref": self.ref,
            "model": self.version.name,
            "version": self.version.version,
            "digest": self.version.digest,
            "executor": self.executor,
            "seconds": round(self.seconds, 3),
            "columns": list(self.columns),
        }


def _check_batch_rows(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BATCH_ROWS:
        raise InvalidInput(
            f"batch_rows must be a whole number from 1 to {MAX_BATCH_ROWS:,}, not {value!r}; "
            f"the default, {DEFAULT_BATCH_ROWS:,}, suits most tables"
        )
    return value


def score(
    ref: str,
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    executor: str = "local",
    batch_rows: int = DEFAULT_BATCH_ROWS,
    columns_out: list[str] | None = None,
    dtypes: Mapping[str, str] | None = None,
    workers: int | None = None,
    unsafe_pickle: bool = False,
    project: str | None = None,
    progress: Progress | None = None,
) -> ScoreResult:
    """Score the Parquet file (or folder of Parquet files, or CSV file) `input` with the model
    at `ref` and write `output` (Parquet): the input's columns (only `columns_out` when given),
    ``prediction`` and, for classifiers, ``probability_<class>`` per class. The output's schema
    metadata (key ``relay.scoring``) names the model version and digest that scored it.

    Memory stays bounded by `batch_rows` rows; the output appears whole or not at all.
    ``executor="ray"`` scores on Ray Data (`workers` actors, default the cluster's CPUs less
    one, left for reading; the input must be readable from every node). CSV columns are read
    with `dtypes` (column -> type), else the signature's types."""
    # pyarrow and the model libraries load here, so `import relayml.models` stays light
    from relayml.scoring.local import score_here
    from relayml.scoring.output import ScoredWriter, check_output
    from relayml.scoring.plan import empty_schema, make_plan
    from relayml.scoring.source import open_source
    from relayml.sdk.models import fetch, load_version

    kind = parse_executor(executor)
    rows_per_batch = _check_batch_rows(batch_rows)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):  # fmt: skip
        raise InvalidInput(f"workers must be a positive whole number, not {workers!r}")
    if columns_out is not None and not all(isinstance(c, str) for c in columns_out):
        raise InvalidInput("columns_out must be a list of column names")
    source_path, dest = Path(input), Path(output)
    check_output(dest, source_path)
    started = time.monotonic()
    version, data = fetch(ref, unsafe_pickle=unsafe_pickle, project=project)
    model = load_version(version, data, unsafe_pickle=unsafe_pickle)
    for warning in model.environment_warnings:
        warnings.warn(f"{version.ref}: {warning}", RuntimeWarning, stacklevel=2)
    source = open_source(source_path, model.signature, dtypes)
    plan = make_plan(
        model, version, ref=ref, schema=source.schema, columns_out=columns_out,
        where=str(source_path),
    )  # fmt: skip
    with ScoredWriter(dest, plan.metadata, rows_per_batch) as writer:
        if kind is ExecutorKind.RAY:
            from relayml.scoring.ray import score_on_ray

            tables = score_on_ray(
                version, data, plan, source, rows_per_batch,
                workers=workers, unsafe_pickle=unsafe_pickle,
            )  # fmt: skip
        else:
            tables = score_here(model, plan, source, rows_per_batch)
        with closing(tables):  # a Ray started for the job stops even if writing fails
            for table in tables:
                writer.write(table)
                if progress is not None:
                    progress(writer.rows, source.rows)
        writer.commit(lambda: empty_schema(model, plan, source.schema))
        columns = tuple(writer.schema.names) if writer.schema is not None else ()
    return ScoreResult(
        output=dest,
        rows=writer.rows,
        ref=ref,
        version=version,
        executor=kind.value,
        seconds=time.monotonic() - started,
        columns=columns,
    )
