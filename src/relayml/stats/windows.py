"""A monitor's window summaries (``WindowSummary``, ``summarise``) and realised performance
(``PerformanceSummary``, ``measure``), and ``merge`` for both; ``stats/monitoring.py`` says how
they fit together. No raw rows: sketches on the reference's edges and integer histograms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

import numpy as np

from relayml.errors import InvalidInput
from relayml.stats.calibration import calibrate
from relayml.stats.evaluation import Task, _label_indices
from relayml.stats.loss_estimate import LossModel, LossSums
from relayml.stats.monitor_inputs import (
    FORMAT,
    PREDICTION,
    as_table,
    check_numbers,
    check_probabilities,
    input_columns,
    output_sketch,
    predicted_indices,
    sketch_table,
)
from relayml.stats.performance import (
    ClassifierCounts,
    Metric,
    RegressionSums,
    ScoreHistogram,
    pack,
    unpack,
)
from relayml.stats.sketch import (
    CategoricalSketch,
    ColumnSketch,
    NumericSketch,
    TableSketch,
    numeric_sketch,
)
from relayml.stats.summarize import summarize_table

if TYPE_CHECKING:
    from relayml.stats.monitoring import MonitorReference


@dataclass(frozen=True)
class WindowSummary:
    """One window (or a merge of windows) of a monitor: no raw rows."""

    reference: str  # the MonitorReference's digest
    rows: int
    inputs: TableSketch
    outputs: TableSketch
    scores: ScoreHistogram | None  # classifiers: the label-free estimate's state
    losses: LossSums | None = None  # regressors: the label-free estimate's state

    @classmethod
    def empty(cls, reference: MonitorReference) -> WindowSummary:
        """A window with no rows: merging it changes nothing."""
        inputs = {n: _empty_like(sk) for n, sk in reference.inputs.columns.items()}
        outputs = {n: _empty_like(sk) for n, sk in reference.outputs.columns.items()}
        scores = None
        if reference.scores is not None:
            scores = ScoreHistogram.empty(reference.score_edges, len(reference.classes or []))
        return cls(
            reference.digest,
            0,
            TableSketch(dict(reference.inputs.kinds), inputs, 0),
            TableSketch(dict(reference.outputs.kinds), outputs, 0),
            scores,
            LossSums() if reference.loss is not None else None,
        )

    def merge(self, other: WindowSummary) -> WindowSummary:
        if self.reference != other.reference:
            raise InvalidInput(
                f"window summaries of different monitor references ({self.reference} and "
                f"{other.reference}) do not merge; summarise both on the same reference"
            )
        scores = None
        if self.scores is not None and other.scores is not None:
            scores = self.scores.merge(other.scores)
        losses = None
        if self.losses is not None and other.losses is not None:
            losses = self.losses.merge(other.losses)
        return WindowSummary(
            self.reference,
            self.rows + other.rows,
            _merge_tables(self.inputs, other.inputs),
            _merge_tables(self.outputs, other.outputs),
            scores,
            losses,
        )

    def to_dict(self) -> dict[str, Any]:
        """Compact: numeric columns without their edges (the reference has them), counts per
        bin instead of cumulative, counts at edges only where not zero."""
        out = {
            "format": FORMAT,
            "reference": self.reference,
            "rows": self.rows,
            "inputs": _compact(self.inputs),
            "outputs": _compact(self.outputs),
            "scores": None if self.scores is None else self.scores.to_dict(),
        }
        if self.losses is not None:
            out["losses"] = self.losses.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], reference: MonitorReference) -> WindowSummary:
        """The summary ``to_dict`` wrote, on ``reference`` (whose digest it must carry)."""
        if d.get("reference") != reference.digest:
            raise InvalidInput(
                f"this window summary was made on monitor reference {d.get('reference')!r}, "
                f"not {reference.digest!r}"
            )
        try:
            return cls(
                reference.digest,
                int(d["rows"]),
                _expand(d["inputs"], reference.inputs),
                _expand(d["outputs"], reference.outputs),
                None if d.get("scores") is None else ScoreHistogram.from_dict(d["scores"]),
                None if d.get("losses") is None else LossSums.from_dict(d["losses"]),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidInput(f"not a window summary: {exc}") from exc


def _empty_like(sk: ColumnSketch) -> ColumnSketch:
    if isinstance(sk, NumericSketch):
        return numeric_sketch(np.zeros(0), 0, edges=sk.edges)
    return CategoricalSketch({}, 0)


def _merge_tables(a: TableSketch, b: TableSketch) -> TableSketch:
    merged = a.merge(b)
    return TableSketch(merged.kinds, merged.columns, merged.n_rows)


def _compact(sketch: TableSketch) -> dict[str, Any]:
    out: dict[str, Any] = {"n_rows": sketch.n_rows, "columns": {}}
    for name, sk in sketch.columns.items():
        if isinstance(sk, NumericSketch):
            d = sk.to_dict()
            for key in ("edges", "cum_counts", "at_edges"):
                del d[key]
            d.update(bins=pack(np.diff(sk.cum_counts, prepend=0)), at=pack(sk.at_edges))
            out["columns"][name] = d
        else:
            out["columns"][name] = sk.to_dict()
    return out


def _expand(d: Mapping[str, Any], like: TableSketch) -> TableSketch:
    columns: dict[str, ColumnSketch] = {}
    for name, base in like.columns.items():
        cd = dict(d["columns"][name])
        if isinstance(base, NumericSketch):
            cum = np.cumsum(unpack(cd.pop("bins")))
            at = unpack(cd.pop("at"))
            if cum.size != base.edges.size or at.size != base.edges.size:
                raise ValueError(f"column {name!r} has {cum.size} bins, the reference has more")
            cd.update(edges=base.edges.tolist(), cum_counts=cum.tolist(), at_edges=at.tolist())
            columns[name] = NumericSketch.from_dict(cd)
        else:
            columns[name] = CategoricalSketch.from_dict(cd)
    return TableSketch(dict(like.kinds), columns, int(d["n_rows"]))


def summarise(
    reference: MonitorReference, inputs: Any, predictions: Any, probabilities: Any = None
) -> WindowSummary:
    """Summarise one batch (or a whole window) of traffic on the reference's bins."""
    table = input_columns(reference.inputs, as_table(inputs))
    rows = int(table.num_rows)
    sketch = summarize_table(table, reference.inputs.kinds, like=reference.inputs)
    inputs_sketch = TableSketch(sketch.kinds, sketch.columns, rows)
    if reference.task is Task.REGRESSION:
        if probabilities is not None:
            raise InvalidInput("a regressor's window takes no probabilities")
        values = check_numbers("predictions", predictions, rows)
        base = reference.outputs.columns[PREDICTION]
        assert isinstance(base, NumericSketch)
        outputs = sketch_table({PREDICTION: numeric_sketch(values, 0, edges=base.edges)}, rows)
        losses = None if reference.loss is None else reference.loss.sums(table, values)
        return WindowSummary(reference.digest, rows, inputs_sketch, outputs, None, losses)
    classes = reference.classes or []
    raw = check_probabilities(probabilities, rows, len(classes))
    predicted = predicted_indices(predictions, raw, classes)
    outputs = output_sketch(reference.class_keys, predicted, raw, reference.outputs, 0)
    calibrated = calibrate(reference.calibration, raw)
    scores = ScoreHistogram.of(reference.score_edges, raw, calibrated, predicted)
    return WindowSummary(reference.digest, rows, inputs_sketch, outputs, scores)


# ---------------------------------------------------------------- realised performance


@dataclass(frozen=True)
class PerformanceSummary:
    """Realised performance of labelled predictions (classifier counts or regression sums),
    and the label-free estimate on the same rows."""

    reference: str
    task: Task
    classifier: ClassifierCounts | None
    regression: RegressionSums | None
    estimated: ScoreHistogram | None
    losses: LossSums | None = None  # regressors: the estimated errors of the labelled rows

    @property
    def rows(self) -> int:
        if self.classifier is not None:
            return self.classifier.rows
        return self.regression.rows if self.regression is not None else 0

    def metrics(self) -> dict[str, Metric]:
        """Realised metrics: AUC (binned, with its bound), accuracy, F1, log loss; or RMSE,
        MAE, R²."""
        if self.classifier is not None:
            return self.classifier.metrics()
        return self.regression.metrics() if self.regression is not None else {}

    def estimated_metrics(self, loss: LossModel | None = None) -> dict[str, Metric]:
        """What the label-free estimator said about these same rows (a regressor's through
        its reference's ``loss`` model)."""
        if self.losses is not None and loss is not None:
            return self.losses.metrics(loss)
        return self.estimated.metrics() if self.estimated is not None else {}

    def merge(self, other: PerformanceSummary) -> PerformanceSummary:
        if self.reference != other.reference or self.task is not other.task:
            raise InvalidInput("performance summaries of different monitor references do not merge")

        def both(a: Any, b: Any) -> Any:
            return None if a is None or b is None else a.merge(b)

        return PerformanceSummary(
            self.reference,
            self.task,
            both(self.classifier, other.classifier),
            both(self.regression, other.regression),
            both(self.estimated, other.estimated),
            both(self.losses, other.losses),
        )

    def to_dict(self) -> dict[str, Any]:
        out = {
            "format": FORMAT,
            "reference": self.reference,
            "task": self.task.value,
            "classifier": None if self.classifier is None else self.classifier.to_dict(),
            "regression": None if self.regression is None else self.regression.to_dict(),
            "estimated": None if self.estimated is None else self.estimated.to_dict(),
        }
        if self.losses is not None:
            out["losses"] = self.losses.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PerformanceSummary:
        try:
            return cls(
                str(d["reference"]),
                Task(d["task"]),
                None
                if d.get("classifier") is None
                else ClassifierCounts.from_dict(d["classifier"]),
                None if d.get("regression") is None else RegressionSums.from_dict(d["regression"]),
                None if d.get("estimated") is None else ScoreHistogram.from_dict(d["estimated"]),
                None if d.get("losses") is None else LossSums.from_dict(d["losses"]),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidInput(f"not a performance summary: {exc}") from exc


def measure(
    reference: MonitorReference,
    predictions: Any,
    probabilities: Any,
    labels: Any,
    inputs: Any = None,
) -> PerformanceSummary:
    """Realised performance of labelled rows: ``labels`` are the outcomes of those rows'
    predictions (matched by prediction id upstream), one per row. A regressor's ``inputs``
    (those rows' input columns) give the label-free estimate on the same rows beside it."""
    if reference.task is Task.REGRESSION:
        if probabilities is not None:
            raise InvalidInput("a regressor's performance takes no probabilities")
        values = check_numbers("predictions", predictions, None)
        outcome = check_numbers("labels", labels, values.size)
        sums = RegressionSums.of(outcome, values)
        losses = None
        if reference.loss is not None and inputs is not None:
            table = input_columns(reference.inputs, as_table(inputs))
            if table.num_rows != values.size:
                raise InvalidInput(
                    f"inputs has {table.num_rows} rows but predictions has {values.size}"
                )
            losses = reference.loss.sums(table, values)
        return PerformanceSummary(reference.digest, reference.task, None, sums, None, losses)
    classes = reference.classes or []
    if labels is None:
        raise InvalidInput("labels are required: one true label per labelled prediction")
    truth, _ = _label_indices(labels, classes)
    raw = check_probabilities(probabilities, truth.size, len(classes))
    predicted = predicted_indices(predictions, raw, classes)
    counts = ClassifierCounts.of(reference.score_edges, raw, predicted, truth)
    calibrated = calibrate(reference.calibration, raw)
    estimate = ScoreHistogram.of(reference.score_edges, raw, calibrated, predicted)
    return PerformanceSummary(reference.digest, reference.task, counts, None, estimate)


S = TypeVar("S", WindowSummary, PerformanceSummary)


@overload
def merge(a: WindowSummary, b: WindowSummary) -> WindowSummary: ...
@overload
def merge(a: PerformanceSummary, b: PerformanceSummary) -> PerformanceSummary: ...
def merge(a: S, b: S) -> S:
    """``a`` and ``b`` as one summary (associative, commutative, exact on counts)."""
    if type(a) is not type(b):
        raise InvalidInput(f"cannot merge a {type(a).__name__} with a {type(b).__name__}")
    return a.merge(b)
