"""Model metrics on NumPy arrays, vectorised for millions of rows (AUC from ranks, one sort).

Each matches scikit-learn's function of the same name on the inputs Relay gives it (the tests
cross-check them); where scikit-learn raises on an undefined value (AUC with one class), these
return NaN so one empty slice does not sink a whole evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.intp]


def roc_auc(positive: Bools, score: Floats) -> float:
    """Area under the ROC curve: the chance a random positive scores above a random negative
    (ties count half), from the ranks of the scores: Mann-Whitney U / (n_pos * n_neg)."""
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)  # average ranks for ties
    u = float(ranks[positive].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def macro_ovr_auc(truth: Ints, proba: Floats) -> float:
    """Mean over classes of each class's AUC against the rest (scikit-learn's
    ``multi_class="ovr", average="macro"``); classes with no positive or no negative row are
    left out of the mean."""
    aucs = [roc_auc(truth == k, proba[:, k]) for k in range(proba.shape[1])]
    defined = [a for a in aucs if not np.isnan(a)]
    return float(np.mean(defined)) if defined else float("nan")


def accuracy(truth: Ints, predicted: Ints) -> float:
    return float(np.mean(truth == predicted)) if truth.size else float("nan")


def f1(truth: Ints, predicted: Ints, n_classes: int, *, positive: int | None) -> float:
    """F1 of the ``positive`` class (binary), or the unweighted mean of every class's F1
    (macro, multiclass); a class never predicted nor present scores 0, as in scikit-learn."""
    if truth.size == 0:
        return float("nan")
    true_pos = np.bincount(truth[truth == predicted], minlength=n_classes).astype(np.float64)
    actual = np.bincount(truth, minlength=n_classes).astype(np.float64)
    guessed = np.bincount(predicted, minlength=n_classes).astype(np.float64)
    denominator = actual + guessed
    scores = np.divide(2 * true_pos, denominator, out=np.zeros(n_classes), where=denominator > 0)
    if positive is not None:
        return float(scores[positive])
    return float(scores.mean())


def log_loss(truth: Ints, proba: Floats) -> float:
    """Mean negative log of the probability given to the true class (clipped to
    [eps, 1 - eps], eps the float64 machine epsilon, as scikit-learn does)."""
    if truth.size == 0:
        return float("nan")
    eps = np.finfo(np.float64).eps
    given = np.clip(proba[np.arange(truth.size), truth], eps, 1 - eps)
    return float(-np.mean(np.log(given)))


@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of a reliability diagram: the rows whose predicted probability fell in
    ``(lower, upper]`` (the first bin includes 0), their mean prediction and what happened."""

    lower: float
    upper: float
    rows: int
    mean_predicted: float
    observed: float  # fraction of those rows that were positive (or, multiclass, correct)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "rows": self.rows,
            "mean_predicted": self.mean_predicted,
            "observed": self.observed,
        }


def calibration(
    hit: Bools, confidence: Floats, bins: int
) -> tuple[float, tuple[ReliabilityBin, ...]]:
    """Expected calibration error and the non-empty reliability bins, on ``bins`` equal-width
    bins of ``confidence`` (binned as scikit-learn's ``calibration_curve``)."""
    if hit.size == 0:
        return float("nan"), ()
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], confidence)
    rows = np.bincount(ids, minlength=bins)
    predicted = np.bincount(ids, weights=confidence, minlength=bins)
    observed = np.bincount(ids, weights=hit.astype(np.float64), minlength=bins)
    filled = rows > 0
    mean_predicted = predicted[filled] / rows[filled]
    fraction = observed[filled] / rows[filled]
    ece = float(np.sum(rows[filled] / hit.size * np.abs(fraction - mean_predicted)))
    out = tuple(
        ReliabilityBin(float(edges[i]), float(edges[i + 1]), int(rows[i]), float(p), float(o))
        for i, p, o in zip(np.flatnonzero(filled), mean_predicted, fraction, strict=True)
    )
    return ece, out


def rmse(truth: Floats, predicted: Floats) -> float:
    return float(np.sqrt(np.mean((truth - predicted) ** 2))) if truth.size else float("nan")


def mae(truth: Floats, predicted: Floats) -> float:
    return float(np.mean(np.abs(truth - predicted))) if truth.size else float("nan")


def r2(truth: Floats, predicted: Floats) -> float:
    """Coefficient of determination; for a constant truth, 1 if predicted exactly, else 0
    (scikit-learn's ``force_finite``)."""
    if truth.size == 0:
        return float("nan")
    residual = float(np.sum((truth - predicted) ** 2))
    total = float(np.sum((truth - truth.mean()) ** 2))
    if total == 0:
        return 1.0 if residual == 0 else 0.0
    return 1.0 - residual / total
