"""A reference summary against a current table: the steps `relay.drift.compare` takes once both
sides are in hand, shared with server-side comparisons (the UI's drift page), so a report is
computed one way wherever it is asked for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from relayml.errors import InvalidInput
from relayml.stats.decision import Thresholds
from relayml.stats.drift import DriftReport, compare_sketches
from relayml.stats.kinds import infer_kind
from relayml.stats.sketch import ID_LIKE_NOTE, TableSketch
from relayml.stats.summarize import summarize_table
from relayml.stats.tables import unknown_columns


def skip_columns(
    sketch: TableSketch, columns: Sequence[str] | None, exclude: Sequence[str] | None
) -> TableSketch:
    """Drop excluded columns and, unless columns were named, id-like ones; say why in skipped."""
    if isinstance(exclude, str):
        exclude = [exclude]
    unknown = [c for c in exclude or () if c not in sketch.columns and c not in sketch.skipped]
    if unknown:
        raise unknown_columns("the reference", unknown, [*sketch.columns, *sketch.skipped])
    reasons = {c: "excluded" for c in exclude or ()}
    if columns is None:
        for name in sketch.id_like_columns():
            reasons.setdefault(name, ID_LIKE_NOTE)
    if not reasons:
        return sketch
    keep = [c for c in sketch.columns if c not in reasons]
    return TableSketch(
        {c: sketch.kinds[c] for c in keep},
        {c: sketch.columns[c] for c in keep},
        sketch.n_rows,
        {**sketch.skipped, **reasons},
        [c for c in sketch.id_like if c in keep],
    )


def check_kinds(ref: TableSketch, cur_table: Any) -> None:
    """Refuse a current column whose type cannot be compared as the reference's kind."""
    for name, kind in ref.kinds.items():
        inferred = infer_kind(cur_table.schema.field(name).type)
        if kind.is_ordered and (inferred is None or not inferred.is_ordered):
            raise InvalidInput(
                f"column {name!r} is {kind.value} in the reference but has type "
                f"{cur_table.schema.field(name).type} in the current data; fix the current "
                "data's type or compare it as categorical on both sides"
            )


def require_rows(table: Any, side: str) -> None:
    if table.num_rows == 0:
        raise InvalidInput(f"the {side} data has no rows; drift needs at least one row per side")


def compare_table(
    reference: TableSketch,
    current: Any,
    *,
    thresholds: Thresholds,
    column_thresholds: Mapping[str, Thresholds] | None = None,
    coarse_bins: int = 10,
) -> DriftReport:
    """Every column of the (already skipped) reference summary against the current Arrow
    table, summarised on the reference's bins."""
    wanted = list(reference.columns)
    if not wanted:
        raise InvalidInput(
            "no column to compare: the reference has no column with a drift test "
            f"(skipped: {reference.skipped}); name a column with columns=[...] to force it"
        )
    missing = [c for c in wanted if c not in current.column_names]
    if missing:
        raise InvalidInput(
            f"current data lacks column(s) {missing} that the reference has; pass columns=[...] "
            "to compare only the columns both sides share",
            missing=missing,
        )
    current = current.select(wanted)
    require_rows(current, "current")
    check_kinds(reference, current)
    summary = summarize_table(current, dict(reference.kinds), like=reference)
    return compare_sketches(
        reference,
        summary,
        thresholds=thresholds,
        column_thresholds=column_thresholds,
        coarse_bins=coarse_bins,
    )
