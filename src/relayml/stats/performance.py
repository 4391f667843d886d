"""Model performance from mergeable counts: estimated from calibrated probabilities (no labels,
CBPE-style) and realised from labels, both on the same fixed score bins.

Scores are binned on fixed edges per scored column (the positive class's probability for a
binary classifier, each class's for multiclass): the reference's quantiles joined with a uniform
grid on [0, 1] (``score_edges``), so resolution holds where the reference had its mass and where
a shifted window moves it. Bin ``i`` holds the scores in ``(edges[i-1], edges[i]]``.

**AUC from bins.** With ``pos[b]`` and ``neg[b]`` the (expected or actual) positives and
negatives in bin ``b``, ``AUC = sum_b neg[b] * (pos above b + pos[b] / 2) / (P * N)``: exact for
pairs in different bins, and a tie (half) for pairs in one bin. So
``|AUC_binned - AUC_exact| <= sum_b pos[b] * neg[b] / (2 P N)`` (``Metric.bound``, reported with
every AUC); with the default 1,000 + 1,000 edges it is typically below 0.001.

**Estimated (CBPE).** Each row's calibrated probability is its chance of being positive, so the
expected positives of a bin are the sum of those probabilities and its expected negatives the
rest; the expected AUC is the binned AUC of those, and the expected accuracy is the mean
calibrated probability of the class predicted. The ranking is the model's raw score, not the
calibrated one (whose flat steps would tie rows the model does tell apart).

**Exact merges.** Counts are integers; expected counts and log-loss sums are fixed-point
integers in units of 2**-24 (rounding each row by at most 3e-8), so any grouping of merges gives
the same summary bit for bit. Regression sums are floats and merge to rounding (Chan et al.).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from relayml.domain.numbers import decode_float, encode_float
from relayml.stats.evaluation import Task
from relayml.stats.sketch import quantile_edges

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

UNIT = 1 << 24  # fixed point: an expected count of 1.0 is UNIT
DEFAULT_SCORE_BINS = 1000
LOG_LOSS_EPS = float(np.finfo(np.float64).eps)


def fixed(values: Floats) -> Ints:
    """Non-negative reals as fixed-point integers (units of 2**-24)."""
    return np.rint(values * UNIT).astype(np.int64)


def pack(counts: Ints) -> list[int] | dict[str, Any]:
    """Integer counts for JSON: a list, or when mostly zero ``{"size", "at", "values"}``
    (a small window's histograms are mostly empty bins)."""
    nonzero = np.flatnonzero(counts)
    if nonzero.size * 2 >= counts.size:
        out: list[int] = counts.tolist()
        return out
    return {"size": int(counts.size), "at": nonzero.tolist(), "values": counts[nonzero].tolist()}


def unpack(value: list[int] | dict[str, Any]) -> Ints:
    if isinstance(value, dict):
        out = np.zeros(int(value["size"]), dtype=np.int64)
        out[np.asarray(value["at"], dtype=np.intp)] = value["values"]
        return out
    return np.asarray(value, dtype=np.int64)


def fixed_sums(ids: npt.NDArray[np.intp], values: Floats, size: int) -> Ints:
    """Per-bin sums of ``values``, each row rounded to fixed point *before* adding, so the sum
    of a whole is the sum of its parts' sums exactly (a batch adds at most 2**53 units in
    float64 without rounding: up to 500 million rows)."""
    weights = fixed(values).astype(np.float64)
    return np.bincount(ids, weights=weights, minlength=size).astype(np.int64)


def score_edges(reference_scores: Floats, bins: int = DEFAULT_SCORE_BINS) -> Floats:
    """Bin edges of one scored column: ``bins`` reference quantiles and a ``bins``-step grid."""
    grid = np.linspace(0.0, 1.0, bins + 1)
    return np.unique(np.concatenate((quantile_edges(np.sort(reference_scores), bins), grid)))


def bin_of(edges: Floats, scores: Floats) -> npt.NDArray[np.intp]:
    return np.searchsorted(edges, scores, side="left")


@dataclass(frozen=True)
class Metric:
    """A metric's value, its standard error (sampling) and, for AUC, the binning bound."""

    value: float
    se: float
    rows: int
    bound: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": encode_float(self.value),
            "se": encode_float(self.se),
            "rows": self.rows,
            "bound": encode_float(self.bound),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Metric:
        return cls(
            decode_float(d["value"]), decode_float(d["se"]), int(d["rows"]),
            decode_float(d.get("bound", 0.0)),
        )  # fmt: skip


def binned_auc(pos: Floats, neg: Floats) -> tuple[float, float]:
    """(AUC, bound on its distance from the exact AUC) from positives and negatives per bin."""
    p, n = float(pos.sum()), float(neg.sum())
    if p <= 0 or n <= 0:
        return math.nan, math.nan
    above = p - np.cumsum(pos)
    auc = float(np.sum(neg * (above + 0.5 * pos))) / (p * n)
    bound = 0.5 * float(np.sum(pos * neg)) / (p * n)
    return min(max(auc, 0.0), 1.0), bound


def auc_se(auc: float, positives: float, negatives: float) -> float:
    """Hanley and McNeil's (1982) standard error of an AUC from P positives and N negatives."""
    if not math.isfinite(auc) or positives < 1 or negatives < 1:
        return math.nan
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    ) / (positives * negatives)
    return math.sqrt(max(var, 0.0))


def rate_se(rate: float, rows: int) -> float:
    return math.sqrt(rate * (1 - rate) / rows) if rows > 0 and math.isfinite(rate) else math.nan


def _f1(tp: Floats, predicted: Floats, actual: Floats) -> Floats:
    """Per class F1 = 2 TP / (predicted + actual), 0 where a class is neither (scikit-learn)."""
    denominator = predicted + actual
    return np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)


@dataclass(frozen=True)
class ScoreHistogram:
    """What a CBPE estimate needs of some rows: per scored column the rows per bin and the sum
    of calibrated probabilities per bin, and per class the rows predicted as it and the sum of
    their calibrated probability of it. Integers (fixed-point for sums): merges are exact."""

    counts: list[Ints]
    expected: list[Ints]
    predicted: Ints
    predicted_expected: Ints

    @property
    def rows(self) -> int:
        return int(self.predicted.sum())

    @classmethod
    def empty(cls, edges: list[Floats], classes: int) -> ScoreHistogram:
        z = [np.zeros(e.size + 1, dtype=np.int64) for e in edges]
        return cls(
            z, [a.copy() for a in z], np.zeros(classes, np.int64), np.zeros(classes, np.int64)
        )

    @classmethod
    def of(
        cls, edges: list[Floats], raw: Floats, calibrated: Floats, predicted: npt.NDArray[np.intp]
    ) -> ScoreHistogram:
        """``raw`` and ``calibrated``: the positive class's, shape (n,), or (n, k)."""
        binary = raw.ndim == 1
        k = 2 if binary else raw.shape[1]
        counts, expected = [], []
        for c, e in enumerate(edges):
            r = raw if binary else raw[:, c]
            p = calibrated if binary else calibrated[:, c]
            ids = bin_of(e, r)
            counts.append(np.bincount(ids, minlength=e.size + 1).astype(np.int64))
            expected.append(fixed_sums(ids, p, e.size + 1))
        if binary:
            chance = np.where(predicted == 1, calibrated, 1.0 - calibrated)
        else:
            chance = calibrated[np.arange(predicted.size), predicted]
        return cls(
            counts,
            expected,
            np.bincount(predicted, minlength=k).astype(np.int64),
            fixed_sums(predicted, chance, k),
        )

    def merge(self, other: ScoreHistogram) -> ScoreHistogram:
        return ScoreHistogram(
            [a + b for a, b in zip(self.counts, other.counts, strict=True)],
            [a + b for a, b in zip(self.expected, other.expected, strict=True)],
            self.predicted + other.predicted,
            self.predicted_expected + other.predicted_expected,
        )

    def metrics(self) -> dict[str, Metric]:
        """The expected AUC (binary; macro one-vs-rest), accuracy and F1 (positive class;
        macro) of these rows, from their calibrated probabilities."""
        n = self.rows
        if n == 0:
            nan = Metric(math.nan, math.nan, 0)
            return {"auc": nan, "accuracy": nan, "f1": nan}
        aucs = []
        for counts, expected in zip(self.counts, self.expected, strict=True):
            pos = expected / UNIT
            neg = np.maximum(counts - pos, 0.0)
            auc, bound = binned_auc(pos, neg)
            aucs.append((auc, bound, float(pos.sum()), float(neg.sum())))
        defined = [a for a in aucs if math.isfinite(a[0])]
        if defined:
            auc = float(np.mean([a[0] for a in defined]))
            bound = float(np.mean([a[1] for a in defined]))
            se = float(np.mean([auc_se(a[0], a[2], a[3]) for a in defined]))
        else:
            auc, bound, se = math.nan, math.nan, math.nan
        accuracy = float(self.predicted_expected.sum()) / UNIT / n
        tp = self.predicted_expected / UNIT
        if len(self.counts) == 1:  # binary: the positive class is the last
            actual_pos = float(self.expected[0].sum()) / UNIT
            actual = np.array([n - actual_pos, actual_pos])
            f1 = float(_f1(tp, self.predicted.astype(np.float64), actual)[1])
        else:
            actual = np.array([float(e.sum()) / UNIT for e in self.expected])
            f1 = float(_f1(tp, self.predicted.astype(np.float64), actual).mean())
        return {
            "auc": Metric(auc, se, n, bound),
            "accuracy": Metric(accuracy, rate_se(accuracy, n), n),
            "f1": Metric(f1, math.nan, n),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": [pack(c) for c in self.counts],
            "expected": [pack(e) for e in self.expected],
            "predicted": self.predicted.tolist(),
            "predicted_expected": self.predicted_expected.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScoreHistogram:
        return cls(
            [unpack(c) for c in d["counts"]],
            [unpack(e) for e in d["expected"]],
            np.asarray(d["predicted"], dtype=np.int64),
            np.asarray(d["predicted_expected"], dtype=np.int64),
        )


@dataclass(frozen=True)
class RegressionSums:
    """Errors (prediction - truth) and truths of some rows, as mergeable moments."""

    rows: int = 0
    abs_error: float = 0.0
    sq_error: float = 0.0
    sq_error_sq: float = 0.0  # sum of error**4: the standard error of the mean squared error
    truth_mean: float = 0.0
    truth_m2: float = 0.0

    @classmethod
    def of(cls, truth: Floats, predicted: Floats) -> RegressionSums:
        e = predicted - truth
        sq = e * e
        mean = float(truth.mean()) if truth.size else 0.0
        return cls(
            int(truth.size), float(np.abs(e).sum()), float(sq.sum()), float((sq * sq).sum()),
            mean, float(np.square(truth - mean).sum()),
        )  # fmt: skip

    def merge(self, other: RegressionSums) -> RegressionSums:
        n = self.rows + other.rows
        if n == 0:
            return self
        delta = other.truth_mean - self.truth_mean
        return RegressionSums(
            n,
            self.abs_error + other.abs_error,
            self.sq_error + other.sq_error,
            self.sq_error_sq + other.sq_error_sq,
            self.truth_mean + delta * other.rows / n,
            self.truth_m2 + other.truth_m2 + delta * delta * self.rows * other.rows / n,
        )

    def metrics(self) -> dict[str, Metric]:
        n = self.rows
        if n == 0:
            nan = Metric(math.nan, math.nan, 0)
            return {"rmse": nan, "mae": nan, "r2": nan}
        mse, mae = self.sq_error / n, self.abs_error / n
        rmse = math.sqrt(mse)
        se_mse = math.sqrt(max(self.sq_error_sq / n - mse * mse, 0.0) / n)
        se_mae = math.sqrt(max(mse - mae * mae, 0.0) / n)
        if self.truth_m2 > 0:
            r2 = 1.0 - self.sq_error / self.truth_m2
        else:
            r2 = 1.0 if self.sq_error == 0 else 0.0
        return {
            "rmse": Metric(rmse, se_mse / (2 * rmse) if rmse > 0 else 0.0, n),
            "mae": Metric(mae, se_mae, n),
            "r2": Metric(r2, math.nan, n),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "abs_error": encode_float(self.abs_error),
            "sq_error": encode_float(self.sq_error),
            "sq_error_sq": encode_float(self.sq_error_sq),
            "truth_mean": encode_float(self.truth_mean),
            "truth_m2": encode_float(self.truth_m2),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RegressionSums:
        return cls(
            int(d["rows"]), decode_float(d["abs_error"]), decode_float(d["sq_error"]),
            decode_float(d["sq_error_sq"]), decode_float(d["truth_mean"]),
            decode_float(d["truth_m2"]),
        )  # fmt: skip


@dataclass(frozen=True)
class ClassifierCounts:
    """Labelled rows of a classifier: per scored column the positives and negatives per bin
    (AUC), the confusion matrix (true x predicted: accuracy, F1) and the fixed-point sum of
    -log(probability of the true class) (log loss), all integers."""

    positives: list[Ints]
    negatives: list[Ints]
    confusion: Ints
    log_loss: int

    @property
    def rows(self) -> int:
        return int(self.confusion.sum())

    @classmethod
    def of(
        cls,
        edges: list[Floats],
        raw: Floats,
        predicted: npt.NDArray[np.intp],
        truth: npt.NDArray[np.intp],
    ) -> ClassifierCounts:
        binary = raw.ndim == 1
        k = 2 if binary else raw.shape[1]
        positives, negatives = [], []
        for c, e in enumerate(edges):
            score = raw if binary else raw[:, c]
            hit = truth == (1 if binary else c)
            ids = bin_of(e, score)
            positives.append(np.bincount(ids[hit], minlength=e.size + 1).astype(np.int64))
            negatives.append(np.bincount(ids[~hit], minlength=e.size + 1).astype(np.int64))
        confusion = np.bincount(truth * k + predicted, minlength=k * k).reshape(k, k)
        if binary:
            given = np.where(truth == 1, raw, 1.0 - raw)
        else:
            given = raw[np.arange(truth.size), truth]
        loss = -np.log(np.clip(given, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS))
        return cls(positives, negatives, confusion.astype(np.int64), int(fixed(loss).sum()))

    def merge(self, other: ClassifierCounts) -> ClassifierCounts:
        return ClassifierCounts(
            [a + b for a, b in zip(self.positives, other.positives, strict=True)],
            [a + b for a, b in zip(self.negatives, other.negatives, strict=True)],
            self.confusion + other.confusion,
            self.log_loss + other.log_loss,
        )

    def metrics(self) -> dict[str, Metric]:
        n = self.rows
        if n == 0:
            nan = Metric(math.nan, math.nan, 0)
            return {"auc": nan, "accuracy": nan, "f1": nan, "log_loss": nan}
        aucs = []
        for pos, neg in zip(self.positives, self.negatives, strict=True):
            p, q = pos.astype(np.float64), neg.astype(np.float64)
            auc, bound = binned_auc(p, q)
            if math.isfinite(auc):
                aucs.append((auc, bound, auc_se(auc, float(p.sum()), float(q.sum()))))
        if aucs:
            auc, bound, se = (float(np.mean([a[i] for a in aucs])) for i in range(3))
        else:
            auc, bound, se = math.nan, math.nan, math.nan
        tp = np.diag(self.confusion).astype(np.float64)
        accuracy = float(tp.sum()) / n
        f1s = _f1(tp, self.confusion.sum(axis=0).astype(np.float64),
                  self.confusion.sum(axis=1).astype(np.float64))  # fmt: skip
        f1 = float(f1s[1]) if len(self.positives) == 1 else float(f1s.mean())
        return {
            "auc": Metric(auc, se, n, bound),
            "accuracy": Metric(accuracy, rate_se(accuracy, n), n),
            "f1": Metric(f1, math.nan, n),
            "log_loss": Metric(self.log_loss / UNIT / n, math.nan, n),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "positives": [pack(p) for p in self.positives],
            "negatives": [pack(q) for q in self.negatives],
            "confusion": self.confusion.tolist(),
            "log_loss": self.log_loss,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClassifierCounts:
        return cls(
            [unpack(p) for p in d["positives"]],
            [unpack(q) for q in d["negatives"]],
            np.asarray(d["confusion"], dtype=np.int64),
            int(d["log_loss"]),
        )


def task_metrics(task: Task) -> tuple[str, ...]:
    """The realised metrics a monitor reports for a task."""
    if task is Task.REGRESSION:
        return ("rmse", "mae", "r2")
    return ("auc", "accuracy", "f1", "log_loss")
