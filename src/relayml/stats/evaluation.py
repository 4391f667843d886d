"""A model's evaluation: the standard metrics for its task, overall and per slice.

    ev = evaluate_classifier(y, proba, classes=model.classes_, slices={"region": df["region"]})
    ev.metrics["auc"]; ev.calibration.ece; [(s.column, s.value, s.rows) for s in ev.slices]
    ev = evaluate_regressor(y, y_hat, slices={"age": df["age"]})   # numbers bucket into quantiles

Classifiers get ``auc`` (binary; macro one-vs-rest for multiclass), ``accuracy``, ``f1`` (of the
positive class, the last of ``classes``, for binary; macro for multiclass), ``log_loss`` and
``ece`` (expected calibration error: of the positive class's probability for binary, of the
top class's for multiclass). Regressors get ``rmse``, ``mae`` and ``r2``. Every slice carries its
row count, so a reader can tell a real gap from a small-sample one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from relayml.domain.numbers import json_safe
from relayml.errors import InvalidInput
from relayml.stats import metrics as m

DEFAULT_BINS = 10  # reliability bins
DEFAULT_QUANTILES = 4  # buckets for a numeric slice column
MAX_CATEGORIES = 20  # a numeric column with more distinct values is bucketed
MAX_SLICES = 50  # per column; rarer values are pooled into OTHER
MISSING, OTHER = "(missing)", "(other)"


class Task(StrEnum):
    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"


METRICS: dict[Task, tuple[str, ...]] = {
    Task.BINARY: ("auc", "accuracy", "f1", "log_loss", "ece"),
    Task.MULTICLASS: ("auc", "accuracy", "f1", "log_loss", "ece"),
    Task.REGRESSION: ("rmse", "mae", "r2"),
}
HIGHER_IS_BETTER: dict[str, bool] = {
    "auc": True,
    "accuracy": True,
    "f1": True,
    "log_loss": False,
    "ece": False,
    "rmse": False,
    "mae": False,
    "r2": True,
}
"""Which way each metric improves, for floors and minimum improvements."""


@dataclass(frozen=True)
class Calibration:
    ece: float
    bins: tuple[m.ReliabilityBin, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"ece": self.ece, "bins": [b.to_dict() for b in self.bins]}


@dataclass(frozen=True)
class SliceMetrics:
    """The metrics on the rows where ``column`` has ``value`` (a category, MISSING, OTHER, or
    a numeric bucket written ``[lower, upper)``; the last bucket is closed)."""

    column: str
    value: str
    rows: int
    metrics: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "value": self.value, "rows": self.rows,
                "metrics": dict(self.metrics)}  # fmt: skip


@dataclass(frozen=True)
class Evaluation:
    task: Task
    rows: int
    metrics: dict[str, float]
    calibration: Calibration | None = None
    slices: tuple[SliceMetrics, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (NaN as ``"NaN"``, as everywhere Relay writes JSON)."""
        document: dict[str, Any] = json_safe(
            {
                "task": self.task.value,
                "rows": self.rows,
                "metrics": dict(self.metrics),
                "calibration": None if self.calibration is None else self.calibration.to_dict(),
                "slices": [s.to_dict() for s in self.slices],
            }
        )
        return document


# ---------------------------------------------------------------- inputs


def _label_indices(
    y_true: Any, classes: Sequence[Any] | npt.NDArray[Any], what: str = "true label"
) -> tuple[npt.NDArray[np.intp], int]:
    """Each true label's position in ``classes``; InvalidInput naming labels not among them.
    ``what`` names the values in the messages (a monitor maps predicted labels too)."""
    labels = np.asarray(classes)
    if labels.ndim != 1 or labels.size < 2:
        raise InvalidInput(f"a classifier needs at least 2 classes, got {labels.tolist()!r}")
    if np.unique(labels).size != labels.size:
        raise InvalidInput(f"classes must be distinct, got {labels.tolist()!r}")
    truth = np.asarray(y_true)
    if truth.ndim != 1:
        raise InvalidInput(f"the {what}s must be one per row, not shape {truth.shape}")
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]
    try:
        pos = np.searchsorted(ordered, truth)
        found = ordered[np.minimum(pos, labels.size - 1)] == truth
    except TypeError:
        raise InvalidInput(
            f"the {what}s ({truth.dtype}) cannot be compared with the model's classes "
            f"({labels.dtype}); give labels of the same type as {labels[:5].tolist()!r}"
        ) from None
    found = np.asarray(found, dtype=bool) & (pos < labels.size)
    if not found.all():
        unknown = list(dict.fromkeys(truth[~found].tolist()))[:10]
        raise InvalidInput(
            f"{what}(s) {unknown!r} are not among the model's classes {labels.tolist()!r}; "
            "evaluate on data with the classes the model knows, or retrain"
        )
    return order[pos].astype(np.intp), labels.size


def _probabilities(proba: Any, rows: int, n_classes: int) -> m.Floats:
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim == 1 and n_classes == 2:
        p = np.column_stack([1.0 - p, p])
    if p.shape != (rows, n_classes):
        raise InvalidInput(
            f"probabilities must have one row per label and one column per class "
            f"({rows} x {n_classes}), not shape {p.shape}"
        )
    if not np.isfinite(p).all() or p.min(initial=0.0) < 0 or p.max(initial=0.0) > 1:
        raise InvalidInput("probabilities must be finite numbers between 0 and 1")
    return p


def _numbers(name: str, values: Any, rows: int | None = None) -> m.Floats:
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be numbers") from None
    if out.ndim != 1 or (rows is not None and out.size != rows):
        raise InvalidInput(f"{name} must be one number per row ({rows}), not shape {out.shape}")
    if not np.isfinite(out).all():
        bad = int((~np.isfinite(out)).sum())
        raise InvalidInput(f"{name} has {bad} missing or infinite value(s); drop those rows")
    return out


# ---------------------------------------------------------------- slices


def _missing(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    if values.dtype.kind == "f":
        return np.asarray(np.isnan(values), dtype=np.bool_)
    if values.dtype.kind == "M":
        return np.asarray(np.isnat(values), dtype=np.bool_)
    if values.dtype.kind == "O":
        return np.fromiter(
            (v is None or (isinstance(v, float) and v != v) for v in values), bool, values.size
        )
    return np.zeros(values.size, dtype=bool)


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def slice_groups(
    values: Any, rows: int, *, quantiles: int = DEFAULT_QUANTILES
) -> list[tuple[str, npt.NDArray[np.intp]]]:
    """The slices of one column: (value, row indices), largest first. Numbers and datetimes
    with more than MAX_CATEGORIES distinct values bucket into ``quantiles`` quantile ranges
    (in order); beyond
    MAX_SLICES categories, the rarest are pooled into OTHER; nulls are MISSING."""
    column = np.asarray(values)
    if column.ndim != 1 or column.size != rows:
        raise InvalidInput(f"a slice column must have one value per row ({rows})")
    missing = _missing(column)
    present = np.flatnonzero(~missing)
    kept = column[present]
    groups: list[tuple[str, npt.NDArray[np.intp]]] = []
    numeric = kept.dtype.kind in "iufM"
    if numeric and np.unique(kept).size > MAX_CATEGORIES:
        dates = kept.dtype.kind == "M"
        line = (kept.view(np.int64) if dates else kept).astype(np.float64)
        edges = np.unique(np.quantile(line, np.linspace(0, 1, quantiles + 1)))
        ids = np.clip(np.searchsorted(edges, line, side="right") - 1, 0, edges.size - 2)

        def fmt(x: float) -> str:
            if not dates:
                return _fmt(x)
            moment = np.array(round(x), dtype=np.int64).view(kept.dtype)
            return str(np.datetime_as_string(moment, unit="auto"))  # a date alone at midnight

        for b in range(edges.size - 1):
            close = "]" if b == edges.size - 2 else ")"
            label = f"[{fmt(edges[b])}, {fmt(edges[b + 1])}{close}"
            groups.append((label, present[ids == b]))
    else:
        if kept.dtype.kind == "O":
            kept = kept.astype(str)
        uniques, inverse, counts = np.unique(kept, return_inverse=True, return_counts=True)
        by_size = np.argsort(-counts, kind="stable")
        for u in by_size[:MAX_SLICES]:
            groups.append((str(uniques[u]), present[inverse == u]))
        if by_size.size > MAX_SLICES:
            pooled = np.isin(inverse, by_size[MAX_SLICES:])
            groups.append((OTHER, present[pooled]))
    if missing.any():
        groups.append((MISSING, np.flatnonzero(missing)))
    groups = [(label, idx) for label, idx in groups if idx.size]
    return sorted(groups, key=lambda g: -g[1].size) if not numeric else groups


def _check_slices(slices: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if slices is None:
        return {}
    if not isinstance(slices, Mapping) or not all(isinstance(k, str) for k in slices):
        raise InvalidInput("slices must map column names to their values, one per row")
    return slices


def _check_bins(bins: int, quantiles: int) -> None:
    if not isinstance(bins, int) or not 2 <= bins <= 1000:
        raise InvalidInput(f"bins must be an integer from 2 to 1000, got {bins!r}")
    if not isinstance(quantiles, int) or not 2 <= quantiles <= 100:
        raise InvalidInput(f"quantiles must be an integer from 2 to 100, got {quantiles!r}")


# ---------------------------------------------------------------- evaluations


def _classifier_metrics(
    truth: m.Ints, proba: m.Floats, bins: int
) -> tuple[dict[str, float], Calibration]:
    n_classes = proba.shape[1]
    predicted = np.argmax(proba, axis=1)
    binary = n_classes == 2
    if binary:
        ece, rel = m.calibration(truth == 1, proba[:, 1], bins)
    else:
        ece, rel = m.calibration(truth == predicted, proba.max(axis=1), bins)
    scores = {
        "auc": m.roc_auc(truth == 1, proba[:, 1]) if binary else m.macro_ovr_auc(truth, proba),
        "accuracy": m.accuracy(truth, predicted),
        "f1": m.f1(truth, predicted, n_classes, positive=1 if binary else None),
        "log_loss": m.log_loss(truth, proba),
        "ece": ece,
    }
    return scores, Calibration(ece, rel)


def evaluate_classifier(
    y_true: Any,
    proba: Any,
    *,
    classes: Sequence[Any] | npt.NDArray[Any],
    slices: Mapping[str, Any] | None = None,
    bins: int = DEFAULT_BINS,
    quantiles: int = DEFAULT_QUANTILES,
) -> Evaluation:
    """Metrics of a classifier from the true labels and its probabilities (one column per
    class, in ``classes`` order; for two classes a single column of the last class's
    probability will do), overall and per slice of each column in ``slices``."""
    _check_bins(bins, quantiles)
    truth, n_classes = _label_indices(y_true, classes)
    p = _probabilities(proba, truth.size, n_classes)
    if truth.size == 0:
        raise InvalidInput("there are no rows to evaluate")
    scores, cal = _classifier_metrics(truth, p, bins)
    out = []
    for column, values in _check_slices(slices).items():
        for label, idx in slice_groups(values, truth.size, quantiles=quantiles):
            sub, _ = _classifier_metrics(truth[idx], p[idx], bins)
            out.append(SliceMetrics(column, label, int(idx.size), sub))
    task = Task.BINARY if n_classes == 2 else Task.MULTICLASS
    return Evaluation(task, int(truth.size), scores, cal, tuple(out))


def _regressor_metrics(truth: m.Floats, predicted: m.Floats) -> dict[str, float]:
    return {
        "rmse": m.rmse(truth, predicted),
        "mae": m.mae(truth, predicted),
        "r2": m.r2(truth, predicted),
    }


def evaluate_regressor(
    y_true: Any,
    y_pred: Any,
    *,
    slices: Mapping[str, Any] | None = None,
    quantiles: int = DEFAULT_QUANTILES,
) -> Evaluation:
    """Metrics of a regressor from the true and predicted values, overall and per slice."""
    _check_bins(DEFAULT_BINS, quantiles)
    truth = _numbers("the true values", y_true)
    if truth.size == 0:
        raise InvalidInput("there are no rows to evaluate")
    predicted = _numbers("the predictions", y_pred, truth.size)
    out = []
    for column, values in _check_slices(slices).items():
        for label, idx in slice_groups(values, truth.size, quantiles=quantiles):
            sub = _regressor_metrics(truth[idx], predicted[idx])
            out.append(SliceMetrics(column, label, int(idx.size), sub))
    scores = _regressor_metrics(truth, predicted)
    return Evaluation(Task.REGRESSION, int(truth.size), scores, None, tuple(out))
