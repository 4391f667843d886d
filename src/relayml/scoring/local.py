"""Scoring in this process: batch after batch, read, predicted and handed to the writer."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pyarrow as pa

from relayml.errors import InvalidInput
from relayml.scoring.plan import Plan, score_table
from relayml.scoring.source import Source, read_batches


def at_rows(exc: InvalidInput, first: int, count: int, where: object) -> InvalidInput:
    """`exc` said of the rows `first` (0-based) .. `first + count - 1` of `where`."""
    span = f"rows {first + 1:,}-{first + count:,}"
    return InvalidInput(f"{span} of {where}: {exc.message}", **exc.details, first_row=first + 1)


def score_here(
    model: Any, plan: Plan, source: Source, rows: int
) -> Generator[pa.Table, None, None]:
    """The scored batches of `source`, in order."""
    done = 0
    for batch in read_batches(source, plan.read, rows):
        try:
            scored = score_table(model, plan, pa.Table.from_batches([batch]))
        except InvalidInput as exc:
            raise at_rows(exc, done, batch.num_rows, source.path) from None
        done += batch.num_rows
        yield scored
