"""Data drift: compare a reference sample with a current one, column by column.

    import relayml as relay
    report = relay.drift.compare(reference, current)
    report.drifted            # names of drifted columns
    report["income"].reason   # why it was or was not flagged
    report.to_html("drift.html")

Inputs are pandas or polars DataFrames, pyarrow Tables, Parquet paths, dataset versions
("loans@3": the reference is then its stored profile summary), or (for the reference) a
summary made once with :func:`summarize`. The numeric work lives in ``relayml.stats`` and is
imported on first use, so ``import relayml`` stays fast. The rule is documented in docs/drift.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from relayml.errors import InvalidInput

if TYPE_CHECKING:
    from relayml.client.base import Backend
    from relayml.reports.drift import DriftReport
    from relayml.stats.decision import Thresholds
    from relayml.stats.drift import DriftReport as Computed
    from relayml.stats.sketch import TableSketch

__all__ = ["compare", "summarize"]

DEFAULT_BINS = 2048


def summarize(
    data: Any,
    columns: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    *,
    kinds: Mapping[str, str] | None = None,
    bins: int = DEFAULT_BINS,
    like: TableSketch | None = None,
) -> TableSketch:
    """Summarise ``data`` once (quantile bins, category counts, moments) for later comparisons.

    The result merges with summaries of other partitions made with ``like=`` it, and
    round-trips through ``to_dict()`` / ``TableSketch.from_dict()`` (JSON-able).
    """
    from relayml.stats.summarize import summarize_table
    from relayml.stats.tables import resolve_kinds, to_arrow

    if like is not None and columns is None:
        columns = list(like.columns)
    table = to_arrow(data, columns, side="data")
    if table.num_rows == 0:
        raise InvalidInput("data has no rows; a drift summary needs at least one row")
    if like is not None:
        column_kinds = {c: like.kinds[c] for c in table.column_names if c in like.kinds}
        skipped: dict[str, str] = {}
    else:
        column_kinds, skipped = resolve_kinds(table, table.column_names, categorical, kinds)
    return summarize_table(table, column_kinds, like=like, bins=bins, skipped=skipped)


def compare(
    reference: Any,
    current: Any,
    columns: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    *,
    kinds: Mapping[str, str] | None = None,
    thresholds: Thresholds | None = None,
    column_thresholds: Mapping[str, Thresholds] | None = None,
    bins: int = DEFAULT_BINS,
    coarse_bins: int = 10,
    classifier: bool = False,
    backend: Backend | None = None,
    project: str | None = None,
    exclude: Sequence[str] | None = None,
    dtypes: Mapping[str, str] | None = None,
    **options: float,
) -> DriftReport:
    """Compare ``current`` with ``reference`` and decide, per column, whether it drifted.

    ``columns`` limits the comparison (default: every column of the reference);
    ``categorical`` forces columns to be compared as categories (e.g. integer codes);
    ``kinds`` maps columns to "numeric", "categorical", "boolean" or "datetime".
    Thresholds of the decision rule may be given as a ``Thresholds`` or as keywords
    (``alpha=0.01``, ``wasserstein=0.1``, ``total_variation=0.05``, ...).
    ``current`` may also be a summary made with ``summarize(data, like=reference_summary)``,
    e.g. the merge of per-partition summaries computed on Ray.
    ``classifier=True`` adds a domain-classifier check of the joint distribution (needs
    scikit-learn and the raw reference).
    Columns unique on every row (integer or string ids) are skipped, with a note in the report,
    unless named in ``columns``; ``exclude`` skips further columns.
    Paths may name Parquet files or folders, or CSV files; ``dtypes`` fixes CSV columns' types
    (``{"zip": "string"}``) instead of inferring them from the file's first block.
    Dataset versions are read through ``backend`` (with its ``project``) when given, so
    server-side code (a monitor) can compare without an SDK session; by default through the
    session's backend and project.
    """
    from relayml.stats.decision import Thresholds
    from relayml.stats.drift import compare_sketches
    from relayml.stats.drift_table import compare_table, require_rows, skip_columns
    from relayml.stats.sketch import TableSketch
    from relayml.stats.tables import to_arrow

    base = _thresholds(thresholds or Thresholds(), options)
    ref_csv, cur_csv = (
        _read_csv(reference, "reference", dtypes),
        _read_csv(current, "current", dtypes),
    )
    if dtypes and ref_csv is reference and cur_csv is current:
        raise InvalidInput("dtypes= applies to CSV files, and neither side is a CSV file path")
    reference, current = ref_csv, cur_csv
    reference, current = _dataset_refs(
        reference, current, categorical, kinds, bins, classifier, backend, project
    )
    if isinstance(reference, Mapping):
        try:
            reference = TableSketch.from_dict(dict(reference))
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidInput(f"reference is a dict but not a drift summary: {exc}") from exc
    ref_table = None
    if isinstance(reference, TableSketch):
        if categorical or kinds:
            raise InvalidInput(
                "column kinds are fixed when the reference is summarised; pass categorical= "
                "or kinds= to summarize() instead"
            )
        ref_sketch = reference
        if columns is not None:
            ref_sketch = _select(ref_sketch, columns)
    else:
        ref_table = to_arrow(reference, columns, side="reference")
        require_rows(ref_table, "reference")
        ref_sketch = summarize(ref_table, None, categorical, kinds=kinds, bins=bins)
    ref_sketch = skip_columns(ref_sketch, columns, exclude)
    wanted = list(ref_sketch.columns)
    if not wanted:
        raise InvalidInput(
            "no column to compare: the reference has no column with a drift test "
            f"(skipped: {ref_sketch.skipped}); name a column with columns=[...] to force it"
        )
    if isinstance(current, Mapping | TableSketch):
        # e.g. the merge of per-partition summaries made on the reference's edges (Ray, Spark)
        if classifier:
            raise InvalidInput("classifier=True needs the raw current data, not a summary")
        computed = compare_sketches(
            ref_sketch,
            _current_summary(current, ref_sketch),
            thresholds=base,
            column_thresholds=column_thresholds,
            coarse_bins=coarse_bins,
        )
        return _with_page(computed)
    cur_table = to_arrow(current, None, side="current")
    report = compare_table(
        ref_sketch,
        cur_table,
        thresholds=base,
        column_thresholds=column_thresholds,
        coarse_bins=coarse_bins,
    )
    if classifier:
        if ref_table is None:
            raise InvalidInput("classifier=True needs the raw reference data, not a summary")
        from relayml.stats.classifier import domain_classifier

        report.classifier = domain_classifier(
            ref_table, cur_table.select(list(ref_sketch.columns)), ref_sketch.kinds
        )
    return _with_page(report)


def _with_page(report: Computed) -> DriftReport:
    """The statistics' result as the report users get, which can render itself."""
    from relayml.reports.drift import DriftReport

    return DriftReport.of(report)


def _dataset_refs(
    reference: Any,
    current: Any,
    categorical: Sequence[str] | None,
    kinds: Mapping[str, str] | None,
    bins: int,
    classifier: bool,
    backend: Backend | None,
    project: str | None,
) -> tuple[Any, Any]:
    """Dataset versions ("loans@3") as inputs: the reference as its stored drift summary when
    the options allow one, else as data; the current side always as data."""
    from relayml.sdk.datasets import is_dataset_ref, load_for_drift

    if is_dataset_ref(reference):
        summary_ok = not (categorical or kinds or classifier) and bins == DEFAULT_BINS
        reference = load_for_drift(
            reference, summary_ok=summary_ok, backend=backend, project=project
        )
    if is_dataset_ref(current):
        current = load_for_drift(current, summary_ok=False, backend=backend, project=project)
    return reference, current


def _thresholds(base: Thresholds, options: Mapping[str, float]) -> Thresholds:
    known = {f.name for f in fields(base)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise InvalidInput(
            f"unknown option(s) {unknown} for drift.compare; thresholds are {sorted(known)}"
        )
    for name, value in options.items():
        if not isinstance(value, int | float) or value < 0:
            raise InvalidInput(f"threshold {name} must be a non-negative number, got {value!r}")
    return base.with_(**{k: float(v) for k, v in options.items()})


def _current_summary(current: Any, reference: TableSketch) -> TableSketch:
    """A current-side summary, checked to be on the reference's bins (merge-compatible)."""
    import numpy as np

    from relayml.stats.sketch import NumericSketch, TableSketch

    if not isinstance(current, TableSketch):
        try:
            current = TableSketch.from_dict(dict(current))
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidInput(f"current is a dict but not a drift summary: {exc}") from exc
    selected = _select(current, list(reference.columns))
    for name, ref_col in reference.columns.items():
        cur_col = selected.columns[name]
        if isinstance(ref_col, NumericSketch) and (
            not isinstance(cur_col, NumericSketch)
            or not np.array_equal(ref_col.edges, cur_col.edges)
        ):
            raise InvalidInput(
                f"the current summary of {name!r} is not on the reference's bins; make it with "
                "drift.summarize(data, like=reference_summary)"
            )
    return selected


def _select(sketch: TableSketch, columns: Sequence[str]) -> TableSketch:
    from relayml.stats.sketch import TableSketch
    from relayml.stats.tables import unknown_columns

    missing = [c for c in columns if c not in sketch.columns]
    if missing:
        raise unknown_columns("the reference summary", missing, [*sketch.columns, *sketch.skipped])
    return TableSketch(
        {c: sketch.kinds[c] for c in columns},
        {c: sketch.columns[c] for c in columns},
        sketch.n_rows,
        {},
        [c for c in sketch.id_like if c in columns],
    )


def _read_csv(data: Any, side: str, dtypes: Mapping[str, str] | None = None) -> Any:
    """A CSV path as a pyarrow Table, read as the rest of Relay reads CSV; anything else as is."""
    import os
    from pathlib import Path

    if not isinstance(data, str | os.PathLike):
        return data
    from relayml.tables.csv import is_csv, open_csv

    path = Path(data)
    if not is_csv(path) or not path.is_file():
        return data
    import pyarrow as pa

    _, batches = open_csv(path, dtypes)
    parts = list(batches)
    if not parts:
        raise InvalidInput(f"the {side} CSV file {str(path)!r} has no rows")
    return pa.Table.from_batches(parts)
