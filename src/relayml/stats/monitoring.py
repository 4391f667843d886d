"""Monitoring statistics: a deployment's traffic summarised per window, mergeable, no raw rows.

    ref = MonitorReference.build(stored_sketch, task="binary", classes=[0, 1],
                                 probabilities=p_eval, labels=y_eval)   # once per monitor
    w = summarise(ref, inputs_table, predictions, probabilities)       # per batch or window
    day = merge(w_00h, w_01h)                                           # exact, any grouping
    perf = measure(ref, predictions, probabilities, labels)             # the labelled rows
    a = assess(ref, day, perf, min_rows=1000)                           # drift, estimates
    persistent([x.flagged for x in ...], k=3, n=5); decide(history, k=3, n=5)

The API (names stable; everything JSON-able through ``to_dict``/``from_dict``, non-finite
numbers as domain/numbers.py writes them):

- ``MonitorReference.build(inputs, *, task, classes=None, predictions=None,
  probabilities=None, labels=None, features=None, bins=512, score_bins=1000)``: ``inputs`` is
  the reference dataset version's stored drift summary (a ``TableSketch`` or its dict: what
  publish stores and ``DatasetService.sketch`` returns), coarsened exactly to ``bins`` of its
  own edges, id-like columns skipped as the drift engine skips them. The model's outputs on its
  evaluation set give the prediction sketch (edges from them), the score bins and, with
  ``labels``, the isotonic calibration map (``stats/calibration.py``) and the reference's
  realised performance.
- ``summarise(reference, inputs, predictions, probabilities=None) -> WindowSummary``:
  ``inputs`` a pyarrow Table or RecordBatch of the input columns, ``predictions`` the predicted
  labels (classifiers; None = argmax of ``probabilities``) or values (regressors),
  ``probabilities`` the positive class's probability (binary, shape (n,) or (n, 2)) or one
  column per class (multiclass).
- ``merge(a, b)`` for ``WindowSummary`` and ``PerformanceSummary``: associative and
  commutative; integer parts (every count and histogram) are bit-exact in any grouping, float
  moments (means, sums of squares) equal to rounding.
- ``measure(reference, predictions, probabilities, labels) -> PerformanceSummary``: the
  realised performance of labelled rows (joined upstream by prediction id), with the label-free
  estimate on the same rows beside it, so the estimator's own error is visible.
(``WindowSummary``, ``PerformanceSummary``, ``summarise``, ``measure`` and ``merge`` live in
``stats/windows.py``; input checks in ``stats/monitor_inputs.py``.)
- ``assess(reference, summary, performance=None, *, min_rows, ...) -> WindowAssessment``
  (``stats/assessment.py``); ``persistent(flags, k, n)`` and ``decide(history, *, k, n)``
  (``stats/persistence.py``): what to alert on, how much it changed, since which window.
  An assessment holds ``findings`` (``Finding``: kind, subject, flagged, tested, measure,
  magnitude, threshold, reason; ``key`` = "kind:subject" is what alerts de-duplicate on), the
  ``data`` and ``prediction`` drift reports, and the ``baseline``, ``estimated``, ``realised``
  and ``estimated_on_labelled`` metrics. Regressors' label-free MAE and RMSE come from a loss
  model fitted on the labelled evaluation rows (``stats/loss_estimate.py``: direct loss
  estimation), when ``features`` (those rows' input columns) and ``labels`` are given.

Memory per window: about ``bins`` x 2 integers per numeric input column, the category counts of
each categorical one, and ``score_bins`` x 2 to 4 integers per scored column.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from relayml.domain.enums import parse_enum
from relayml.errors import InvalidInput
from relayml.stats.assessment import Finding, PerformanceThresholds, WindowAssessment, assess
from relayml.stats.calibration import CalibrationMap, calibrate, fit_maps
from relayml.stats.evaluation import Task, _label_indices
from relayml.stats.loss_estimate import MIN_ROWS as LOSS_MIN_ROWS
from relayml.stats.loss_estimate import LossModel, fit_loss_model
from relayml.stats.monitor_inputs import (
    FORMAT,
    PREDICTION,
    as_table,
    check_numbers,
    check_probabilities,
    class_keys,
    input_columns,
    output_sketch,
    predicted_indices,
    sketch_table,
)
from relayml.stats.performance import (
    DEFAULT_SCORE_BINS,
    ClassifierCounts,
    Metric,
    RegressionSums,
    ScoreHistogram,
    score_edges,
)
from relayml.stats.persistence import AlertDecision, decide, persistent
from relayml.stats.sketch import (
    ID_LIKE_NOTE,
    ColumnSketch,
    NumericSketch,
    TableSketch,
    numeric_sketch,
)
from relayml.stats.windows import PerformanceSummary, WindowSummary, measure, merge, summarise

__all__ = [
    "AlertDecision",
    "Finding",
    "MonitorReference",
    "PerformanceSummary",
    "PerformanceThresholds",
    "WindowAssessment",
    "WindowSummary",
    "assess",
    "decide",
    "measure",
    "merge",
    "persistent",
    "summarise",
]

Floats = npt.NDArray[np.float64]

DEFAULT_BINS = 512


# ---------------------------------------------------------------- the reference


@dataclass(frozen=True)
class MonitorReference:
    """What every window of one monitor is compared with; built once, stored as JSON."""

    task: Task
    classes: list[Any] | None  # the model's classes, in its probability columns' order
    inputs: TableSketch  # the monitored input columns, on the reference's edges
    outputs: TableSketch  # the model's outputs on its evaluation set
    calibration: list[CalibrationMap] = field(default_factory=list)
    calibrated: bool = False  # fitted on reference labels (False: the model's own probabilities)
    score_edges: list[Floats] = field(default_factory=list)
    scores: ScoreHistogram | None = None  # the estimate's state on the reference rows
    performance: PerformanceSummary | None = None  # realised on the reference rows (labels)
    loss: LossModel | None = None  # regressors: the label-free estimate of MAE and RMSE
    estimate_note: str = ""  # why a regressor has no label-free estimate

    @classmethod
    def build(
        cls,
        inputs: TableSketch | Mapping[str, Any],
        *,
        task: Task | str,
        classes: Sequence[Any] | npt.NDArray[Any] | None = None,
        predictions: Any = None,
        probabilities: Any = None,
        labels: Any = None,
        features: Any = None,
        bins: int = DEFAULT_BINS,
        score_bins: int = DEFAULT_SCORE_BINS,
    ) -> MonitorReference:
        """The reference of a monitor: the reference dataset's stored summary (``inputs``) and
        the model's outputs on its evaluation set, with the true labels when known; for a
        regressor, ``features`` (the evaluation rows' input columns, a pyarrow Table) with
        ``labels`` fit the label-free estimate of its errors."""
        kind = parse_enum(Task, "task", task)
        for name, value in (("bins", bins), ("score_bins", score_bins)):
            if not isinstance(value, int) or isinstance(value, bool) or not 2 <= value <= 10_000:
                raise InvalidInput(f"{name} must be an integer from 2 to 10000, got {value!r}")
        sketch = _monitored_inputs(inputs, bins)
        if kind is Task.REGRESSION:
            if probabilities is not None or classes is not None:
                raise InvalidInput("a regressor has no classes or probabilities; pass predictions")
            values = check_numbers("predictions", predictions, None)
            if values.size == 0:
                raise InvalidInput("the reference needs the model's predictions on at least 1 row")
            outputs = sketch_table({PREDICTION: numeric_sketch(values, 0, bins=bins)}, values.size)
            performance = None
            loss, note = None, "the evaluation rows had no labels"
            if labels is not None:
                outcome = check_numbers("labels", labels, values.size)
                sums = RegressionSums.of(outcome, values)
                performance = PerformanceSummary("", kind, None, sums, None)
                loss, note = _loss_model(sketch, features, values, outcome)
            return cls(
                kind, None, sketch, outputs, performance=performance, loss=loss,
                estimate_note=note,
            )  # fmt: skip
        if classes is None:
            raise InvalidInput("a classifier's reference needs its classes, in probability order")
        class_list = np.asarray(classes).tolist()
        if not isinstance(class_list, list):
            raise InvalidInput(f"classes must be a list, got {classes!r}")
        _, k = _label_indices(np.asarray(class_list[:1]), class_list, "class")
        if (kind is Task.BINARY) != (k == 2):
            raise InvalidInput(
                f"task {kind.value} does not fit {k} classes; binary has 2, multiclass more"
            )
        raw = check_probabilities(probabilities, None, k)
        if raw.shape[0] == 0:
            raise InvalidInput("the reference needs the model's probabilities on at least 1 row")
        predicted = predicted_indices(predictions, raw, class_list)
        truth = None
        if labels is not None:
            truth, _ = _label_indices(labels, class_list)
            if truth.size != raw.shape[0]:
                raise InvalidInput(
                    f"labels has {truth.size} rows but probabilities has {raw.shape[0]}; give "
                    "one label per scored row"
                )
        maps = fit_maps(raw, truth)
        columns = [raw] if raw.ndim == 1 else [raw[:, c] for c in range(k)]
        edges = [score_edges(c, score_bins) for c in columns]
        keys = class_keys(class_list)
        outputs = output_sketch(keys, predicted, raw, None, bins)
        calibrated = calibrate(maps, raw)
        scores = ScoreHistogram.of(edges, raw, calibrated, predicted)
        perf = None
        if truth is not None:
            counts = ClassifierCounts.of(edges, raw, predicted, truth)
            perf = PerformanceSummary("", kind, counts, None, scores)
        return cls(kind, class_list, sketch, outputs, maps, truth is not None, edges, scores, perf)

    @cached_property
    def digest(self) -> str:
        """A short hash of what windows depend on (edges, classes, calibration): a window
        summarised on another reference is refused, never silently mixed in."""
        shape = {
            "task": self.task.value,
            "classes": self.classes,
            "inputs": _edges_of(self.inputs),
            "outputs": _edges_of(self.outputs),
            "score_edges": [e.tolist() for e in self.score_edges],
            "calibration": [m.to_dict() for m in self.calibration],
        }
        if self.loss is not None:  # absent before the estimate existed: old digests hold
            shape["loss"] = self.loss.digest
        text = json.dumps(shape, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def class_keys(self) -> list[str]:
        return class_keys(self.classes or [])

    def baseline(self) -> dict[str, Metric]:
        """The performance windows are compared with: realised on the reference rows when it
        had labels, else the estimate there (the model's own probabilities taken at their
        word)."""
        if self.performance is not None:
            return self.performance.metrics()
        if self.scores is not None:
            return self.scores.metrics()
        return {}

    def estimate_baseline(self) -> dict[str, Metric]:
        """What the label-free estimate is compared with: a regressor's loss model on its
        held-out reference rows (its own bias cancels), else ``baseline``."""
        if self.loss is not None:
            return self.loss.holdout_sums.metrics(self.loss)
        return self.baseline()

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "task": self.task.value,
            "classes": self.classes,
            "inputs": self.inputs.to_dict(),
            "outputs": self.outputs.to_dict(),
            "calibration": [m.to_dict() for m in self.calibration],
            "calibrated": self.calibrated,
            "score_edges": [e.tolist() for e in self.score_edges],
            "scores": None if self.scores is None else self.scores.to_dict(),
            "performance": None if self.performance is None else self.performance.to_dict(),
            "loss": None if self.loss is None else self.loss.to_dict(),
            "estimate_note": self.estimate_note,
            "digest": self.digest,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MonitorReference:
        try:
            if d.get("format") != FORMAT:
                raise ValueError(f"unknown monitor reference format {d.get('format')!r}")
            task = Task(d["task"])
            perf = d.get("performance")
            ref = cls(
                task,
                d.get("classes"),
                TableSketch.from_dict(d["inputs"]),
                TableSketch.from_dict(d["outputs"]),
                [CalibrationMap.from_dict(m) for m in d.get("calibration", [])],
                bool(d.get("calibrated", False)),
                [np.asarray(e, dtype=np.float64) for e in d.get("score_edges", [])],
                None if d.get("scores") is None else ScoreHistogram.from_dict(d["scores"]),
                None if perf is None else PerformanceSummary.from_dict(perf),
                None if d.get("loss") is None else LossModel.from_dict(d["loss"]),
                str(d.get("estimate_note", "")),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidInput(f"not a monitor reference: {exc}") from exc
        if "digest" in d and d["digest"] != ref.digest:
            raise InvalidInput("the monitor reference's digest does not match its content")
        return ref


def _loss_model(
    inputs: TableSketch, features: Any, predictions: Any, labels: Any
) -> tuple[LossModel | None, str]:
    """The label-free estimate of a regressor's errors, or None and why not."""
    if features is None:
        return None, "the evaluation rows' inputs were not given"
    table = input_columns(inputs, as_table(features))
    if table.num_rows != len(predictions):
        raise InvalidInput(
            f"features has {table.num_rows} rows but predictions has {len(predictions)}"
        )
    if table.num_rows < LOSS_MIN_ROWS:
        return None, (
            f"{table.num_rows} labelled evaluation rows; the estimate needs {LOSS_MIN_ROWS}"
        )
    try:
        return fit_loss_model(table, predictions, labels), ""
    except ImportError:
        return None, (
            "scikit-learn was not installed where the reference was built "
            "(pip install 'relayml[ml]')"
        )
    except ValueError as exc:
        return None, f"the loss model could not be fitted: {exc}"


def _monitored_inputs(inputs: TableSketch | Mapping[str, Any], bins: int) -> TableSketch:
    if isinstance(inputs, Mapping):
        try:
            inputs = TableSketch.from_dict(dict(inputs))
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidInput(f"inputs is a dict but not a drift summary: {exc}") from exc
    if not isinstance(inputs, TableSketch):
        raise InvalidInput(
            f"inputs must be the reference dataset's drift summary (a TableSketch or its dict), "
            f"not {type(inputs).__name__}"
        )
    ids = set(inputs.id_like_columns())
    keep = [c for c in inputs.columns if c not in ids]
    columns = {c: _coarsen(inputs.columns[c], bins) for c in keep}
    skipped = {**inputs.skipped, **{c: ID_LIKE_NOTE for c in ids}}
    return TableSketch({c: inputs.kinds[c] for c in keep}, columns, inputs.n_rows, skipped)


def _coarsen(sk: ColumnSketch, bins: int) -> ColumnSketch:
    """The sketch on about ``bins`` of its own edges (reference quantiles, first and last
    kept): exact, since cumulative counts at a subset of edges are those edges' counts."""
    if not isinstance(sk, NumericSketch) or sk.edges.size <= bins + 1 or sk.n == 0:
        return sk
    targets = np.arange(1, bins, dtype=np.float64) / bins
    idx = np.searchsorted(sk.cdf_at_edges(), targets - 1e-12, side="left")
    idx = np.unique(np.concatenate(([0], idx, [sk.edges.size - 1])))
    idx = idx[idx < sk.edges.size]
    return NumericSketch(
        sk.edges[idx], sk.below, sk.cum_counts[idx], sk.at_edges[idx], sk.n, sk.n_missing,
        sk.mean, sk.m2, sk.minimum, sk.maximum,
    )  # fmt: skip


def _edges_of(sketch: TableSketch) -> dict[str, Any]:
    return {
        name: sk.edges.tolist() if isinstance(sk, NumericSketch) else sketch.kinds[name].value
        for name, sk in sketch.columns.items()
    }
