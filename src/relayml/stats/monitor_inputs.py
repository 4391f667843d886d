"""What a monitor is given, checked and shaped: probabilities, predicted labels, numbers and
input tables become arrays and sketches, or an InvalidInput that names the problem (which
argument, how many rows, which values) and what to do instead."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from relayml.errors import InvalidInput
from relayml.stats.evaluation import _label_indices
from relayml.stats.kinds import ColumnKind, category_counts, infer_kind
from relayml.stats.sketch import (
    CategoricalSketch,
    ColumnSketch,
    NumericSketch,
    TableSketch,
    numeric_sketch,
)
from relayml.stats.tables import unknown_columns

Floats = npt.NDArray[np.float64]
Indices = npt.NDArray[np.intp]

FORMAT = 1  # of every monitoring document (reference, window, performance)
PREDICTION, SCORE = "prediction", "score"  # the output sketch's columns


def class_keys(classes: Sequence[Any]) -> list[str]:
    """Each class as the drift engine keys a category (so "True"/1.0 read as it reads them)."""
    return [next(iter(category_counts(pa.array([c]))[0])) for c in classes]


def check_numbers(name: str, values: Any, rows: int | None) -> Floats:
    if values is None:
        raise InvalidInput(f"{name} are required (one number per row)")
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be numbers, not {type(values).__name__}") from None
    if out.ndim != 1:
        raise InvalidInput(f"{name} must be one number per row, not shape {out.shape}")
    if rows is not None and out.size != rows:
        raise InvalidInput(f"{name} has {out.size} rows but the window has {rows}")
    bad = ~np.isfinite(out)
    if bad.any():
        where = np.flatnonzero(bad)[:5].tolist()
        raise InvalidInput(
            f"{name} has {int(bad.sum())} missing or infinite value(s) (rows {where}...); "
            "drop those rows or fix the model's output"
        )
    return out


def check_probabilities(probabilities: Any, rows: int | None, k: int) -> Floats:
    """The probabilities as (n,) for binary (the positive class's) or (n, k), checked."""
    if probabilities is None:
        raise InvalidInput("a classifier's monitor needs its probabilities for every row")
    try:
        p = np.asarray(probabilities, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"probabilities must be numbers, not {type(probabilities).__name__}"
        ) from None
    if k == 2 and p.ndim == 2 and p.shape[1] == 2:
        p = p[:, 1]
    want = "(n,) or (n, 2)" if k == 2 else f"(n, {k})"
    if (k == 2 and p.ndim != 1) or (k > 2 and (p.ndim != 2 or p.shape[1] != k)):
        raise InvalidInput(f"probabilities must have shape {want} for {k} classes, not {p.shape}")
    if rows is not None and p.shape[0] != rows:
        raise InvalidInput(f"probabilities has {p.shape[0]} rows but the window has {rows}")
    finite = np.isfinite(p)
    if not finite.all():
        bad = ~finite if p.ndim == 1 else ~finite.all(axis=1)
        where = np.flatnonzero(bad)[:5].tolist()
        raise InvalidInput(
            f"probabilities has {int(bad.sum())} row(s) with NaN or infinite values (rows "
            f"{where}...); a monitor cannot score them: drop those rows or fix the model"
        )
    if p.size and (p.min() < 0 or p.max() > 1):
        raise InvalidInput(
            f"probabilities must lie between 0 and 1; found {float(p.min()):g} to "
            f"{float(p.max()):g}"
        )
    return p


def predicted_indices(predictions: Any, raw: Floats, classes: list[Any]) -> Indices:
    """Predicted labels as class indices; argmax of the probabilities when not given."""
    if predictions is None:
        if raw.ndim == 1:
            return (raw > 0.5).astype(np.intp)
        best: Indices = np.argmax(raw, axis=1).astype(np.intp)
        return best
    idx, _ = _label_indices(predictions, classes, "predicted label")
    if idx.size != raw.shape[0]:
        raise InvalidInput(f"predictions has {idx.size} rows but probabilities has {raw.shape[0]}")
    return idx


def as_table(inputs: Any) -> Any:
    if isinstance(inputs, pa.RecordBatch):
        return pa.Table.from_batches([inputs])
    if isinstance(inputs, pa.Table):
        return inputs
    raise InvalidInput(
        f"inputs must be a pyarrow Table or RecordBatch of the input columns, not "
        f"{type(inputs).__name__}"
    )


def input_columns(inputs: TableSketch, table: Any) -> Any:
    """The monitored columns of ``table``, checked against the reference's ``inputs``."""
    wanted = list(inputs.columns)
    present = set(table.column_names)
    missing = [c for c in wanted if c not in present]
    if missing:
        raise unknown_columns("the window's inputs", missing, table.column_names)
    schema = table.schema
    for name in wanted:
        arrow_type = schema.field(name).type
        found = infer_kind(arrow_type)
        kind = inputs.kinds[name]
        if found is None:
            raise InvalidInput(
                f"input column {name!r} has type {arrow_type}, which the reference does not have"
            )
        if found.is_ordered != kind.is_ordered and not pa.types.is_null(arrow_type):
            raise InvalidInput(
                f"input column {name!r} is {arrow_type} in this window but {kind.value} in the "
                "reference; send it as the model was trained on it"
            )
    return table.select(wanted)


def sketch_table(columns: dict[str, ColumnSketch], rows: int) -> TableSketch:
    kinds = {
        name: ColumnKind.NUMERIC if isinstance(sk, NumericSketch) else ColumnKind.CATEGORICAL
        for name, sk in columns.items()
    }
    return TableSketch(kinds, columns, rows)


def output_sketch(
    keys: list[str], predicted: Indices, raw: Floats, like: TableSketch | None, bins: int
) -> TableSketch:
    """The predicted class's counts and each scored column's distribution."""
    counts = np.bincount(predicted, minlength=len(keys))
    columns: dict[str, ColumnSketch] = {
        PREDICTION: CategoricalSketch({k: int(c) for k, c in zip(keys, counts, strict=True)}, 0)
    }
    scored = [(SCORE, raw)] if raw.ndim == 1 else [
        (f"{SCORE}[{key}]", raw[:, c]) for c, key in enumerate(keys)
    ]  # fmt: skip
    for name, values in scored:
        edges = None
        if like is not None:
            base = like.columns[name]
            assert isinstance(base, NumericSketch)
            edges = base.edges
        columns[name] = numeric_sketch(values, 0, edges=edges, bins=bins)
    return sketch_table(columns, int(predicted.size))
