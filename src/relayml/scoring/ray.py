"""Scoring on Ray Data: the input read by Ray tasks (one per Parquet row group, with Relay's
reader), batches predicted by a pool of actors (each loads the model once, through the same
safe loader, from the bytes the driver fetched), and the scored batches streamed back, in input
order, to the driver's writer.

Ray is the cluster at $RAY_ADDRESS, one already initialised in this process, or a local one
started for the job (and stopped after it), as for the pipelines' Ray executor. The input path
must be readable from every node (a shared filesystem, or object storage), and relayml must be
installed on the workers. A CSV file is read by one task with Relay's CSV reader.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from typing import Any

import pyarrow as pa

from relayml.domain.models import ModelVersion
from relayml.errors import RelayError, UserCodeError, from_dict
from relayml.scoring.plan import Plan, score_table
from relayml.scoring.source import Source, parts, read_part


class _Scorer:
    """A Ray Data actor: the model loaded once, then `score_table` on every batch."""

    def __init__(self, version: ModelVersion, data: bytes, plan: Plan, unsafe_pickle: bool):
        from relayml.sdk.models import load_version

        self.model = load_version(version, data, unsafe_pickle=unsafe_pickle)
        self.plan = plan

    def __call__(self, table: pa.Table) -> pa.Table:
        try:
            return score_table(self.model, self.plan, table)
        except RelayError as exc:
            # Ray keeps an exception's text, not its cause: the error travels as a one-row
            # table the driver raises again (the codec the http client uses for the server's)
            return pa.table({ERROR_COLUMN: [json.dumps(_encode(exc), default=str)]})


ERROR_COLUMN = "__relay_error__"


def _encode(exc: RelayError) -> dict[str, Any]:
    return {**exc.to_dict(), "user_traceback": getattr(exc, "user_traceback", "")}


def _decode(text: str) -> RelayError:
    payload = json.loads(text)
    err = from_dict({**payload, "message": f"on Ray: {payload.get('message')}"})
    if isinstance(err, UserCodeError):
        err.user_traceback = str(payload.get("user_traceback") or "")
    return err


def _read(items: pa.Table, source: Source, columns: list[str], rows: int) -> Iterator[pa.Table]:
    for part in items.to_pylist():
        for batch in read_part(source, part, columns, rows):
            yield pa.Table.from_batches([batch])


def score_on_ray(
    version: ModelVersion,
    data: bytes,
    plan: Plan,
    source: Source,
    rows: int,
    *,
    workers: int | None,
    unsafe_pickle: bool,
) -> Generator[pa.Table, None, None]:
    """The scored batches, in input order, computed on Ray."""
    from relayml.executors.ray import import_ray, start_ray

    ray = import_ray("scoring with --executor ray")
    started = start_ray(ray)
    import ray.data

    context = ray.data.DataContext.get_current()
    saved = context.execution_options.preserve_order, context.enable_progress_bars
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    try:
        # Relay reads the pieces itself, one Ray task per row group (or the CSV file):
        # Ray's read_parquet split a file into tasks whose order it did not keep
        pieces = parts(source)
        if not pieces:
            return
        dataset = ray.data.from_items(pieces, override_num_blocks=len(pieces)).map_batches(
            _read, batch_size=1, batch_format="pyarrow",
            fn_kwargs={"source": source, "columns": plan.read, "rows": rows},
        )  # fmt: skip
        cpus = int(ray.cluster_resources().get("CPU", 1))
        actors = workers or max(1, cpus - 1)  # one CPU left for the reading tasks
        scored = dataset.map_batches(
            _Scorer,
            fn_constructor_kwargs={
                "version": version, "data": data, "plan": plan, "unsafe_pickle": unsafe_pickle,
            },
            batch_size=rows, batch_format="pyarrow", num_cpus=1,
            compute=ray.data.ActorPoolStrategy(size=actors),
        )  # fmt: skip
        for table in scored.iter_batches(batch_format="pyarrow", batch_size=None):
            if ERROR_COLUMN in table.column_names:
                # Ray may have joined the error's table with others (their rows null in it)
                for text in table.column(ERROR_COLUMN).drop_null().to_pylist():
                    raise _decode(text)
                table = table.drop_columns([ERROR_COLUMN])
            yield table
    finally:
        context.execution_options.preserve_order, context.enable_progress_bars = saved
        if started:
            ray.shutdown()
