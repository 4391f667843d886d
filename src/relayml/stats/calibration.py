"""Calibration maps fitted on a monitor's reference: the model's scores to probabilities that
match what happened, so a window's expected performance can be read off them without labels.

Isotonic regression (pool adjacent violators, SciPy's ``optimize.isotonic_regression``), one
map per class (one-vs-rest; a multiclass row is renormalised to sum to 1), chosen over the
alternatives because it

- is monotone, so it never reorders the model's scores: the ranking the model makes (and with
  it its AUC) is untouched, only the probabilities attached to it change;
- assumes no shape (Platt scaling assumes a sigmoid of the score) and needs no bin count
  (histogram binning does, and its steps depend on it);
- is what NannyML's CBPE uses by default, so the two estimators compare like for like.

A map is the fitted step function's block ends, interpolated linearly between blocks (as
scikit-learn's ``IsotonicRegression`` does) and held constant beyond the fitted range. Without
reference labels the map is the identity: the model's own probabilities are trusted, and the
reference says so (``calibrated`` is False).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CalibrationMap:
    """A monotone map of scores in [0, 1] to probabilities: ``np.interp(score, x, y)``."""

    x: Floats  # non-decreasing scores (block ends)
    y: Floats  # non-decreasing probabilities at them

    @classmethod
    def identity(cls) -> CalibrationMap:
        return cls(np.array([0.0, 1.0]), np.array([0.0, 1.0]))

    @classmethod
    def fit(cls, score: Floats, hit: npt.NDArray[np.bool_]) -> CalibrationMap:
        """Isotonic regression of ``hit`` (0/1) on ``score``; equal scores are pooled first."""
        from scipy.optimize import isotonic_regression

        if score.size == 0:
            return cls.identity()
        unique, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
        rate = np.bincount(inverse, weights=hit.astype(np.float64)) / counts
        fitted = isotonic_regression(rate, weights=counts.astype(np.float64), increasing=True)
        starts = np.asarray(fitted.blocks[:-1], dtype=np.intp)
        ends = np.asarray(fitted.blocks[1:], dtype=np.intp) - 1
        values = np.asarray(fitted.x, dtype=np.float64)[starts]
        x = np.column_stack((unique[starts], unique[ends])).ravel()
        y = np.repeat(values, 2)
        keep = np.ones(x.size, dtype=bool)
        keep[1:] = (x[1:] != x[:-1]) | (y[1:] != y[:-1])  # a one-score block is one point
        return cls(x[keep], np.clip(y[keep], 0.0, 1.0))

    @property
    def is_identity(self) -> bool:
        return bool(np.array_equal(self.x, [0.0, 1.0]) and np.array_equal(self.y, [0.0, 1.0]))

    def __call__(self, score: Floats) -> Floats:
        out: Floats = np.interp(score, self.x, self.y)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"x": self.x.tolist(), "y": self.y.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CalibrationMap:
        return cls(np.asarray(d["x"], dtype=np.float64), np.asarray(d["y"], dtype=np.float64))


def fit_maps(proba: Floats, truth: npt.NDArray[np.intp] | None) -> list[CalibrationMap]:
    """One map per scored column: the positive class's for binary (``proba`` of shape (n,)),
    each class's one-vs-rest for multiclass (shape (n, k)); identity maps without labels."""
    columns = 1 if proba.ndim == 1 else proba.shape[1]
    if truth is None:
        return [CalibrationMap.identity() for _ in range(columns)]
    if proba.ndim == 1:
        return [CalibrationMap.fit(proba, truth == 1)]
    return [CalibrationMap.fit(proba[:, c], truth == c) for c in range(columns)]


def calibrate(maps: list[CalibrationMap], proba: Floats) -> Floats:
    """Calibrated probabilities, same shape as ``proba``; multiclass rows sum to 1 again (a row
    every map sends to 0 keeps its raw probabilities)."""
    if proba.ndim == 1:
        return maps[0](proba)
    out = np.column_stack([m(proba[:, c]) for c, m in enumerate(maps)])
    total = out.sum(axis=1, keepdims=True)
    return np.where(total > 0, out / np.where(total > 0, total, 1.0), proba)
