"""A regressor's MAE and RMSE without labels: direct loss estimation (in the spirit of
NannyML's DLE). On the evaluation rows, whose labels are known, two gradient-boosted trees
learn the model's absolute error and squared error from its inputs and its prediction; on a
window, the mean of the first is the estimated MAE and the root of the mean of the second the
estimated RMSE. A covariate shift into a region where the model errs more raises them before
any label arrives.

**Fitting** (``fit_loss_model``): scikit-learn's HistGradientBoostingRegressor (squared error, so
each tree ensemble estimates the conditional mean of its target), on 70 % of the labelled rows
(at most ``FIT_ROWS``); the other 30 % are held out to state the estimate's own error. Inputs:
numbers (and datetimes) as they are, missing as missing (the trees route them); categories as
codes of the fitting rows' most frequent ``MAX_CATEGORIES`` values, the rest as one code.

**Stored as plain arrays** (``Trees``): the fitted trees' nodes (feature, threshold, side of
missing values, children, leaf value), JSON in the monitor reference; no pickle, and no
scikit-learn where windows are summarised. ``Trees.of`` reads them off the fitted estimator and
checks, on the held-out rows, that evaluating the arrays gives the estimator's own predictions
(to 1e-9): a scikit-learn whose trees read otherwise is refused, never mis-read.

**Compared with itself.** A window's estimate is judged against the estimate on the reference's
held-out rows (``holdout_sums``), not against their realised error: the squared-error trees
carry a bias of a few per cent (heavy-tailed targets), the same on both sides, so it cancels and
clean traffic is not called worse (measured in the test: estimated RMSE 5 % above the realised
on the held-out rows).

**Uncertainty.** ``LossSums`` (rows, sum of estimated absolute errors, sum of estimated squared
errors) merge exactly like counts (floats, to rounding). A window's estimated MAE has the
standard error a realised MAE on its rows would have (from the estimated moments:
``sqrt((E[e²] - E[|e|]²) / n)``; RMSE's by the delta method from the window's own spread of
estimated squared errors plus the held-out rows' spread of what the trees miss), so the
performance rule judges it as it judges the classifiers' label-free estimate. The estimate's
distance from the realised value is stated as ``Metric.bound``: 1.96 held-out residual standard
deviations over ``sqrt(n)``, the band within which the realised value of a window of ``n`` rows
from the reference's distribution falls about 95 % of the time (measured in
tests/stats/test_loss_estimate.py).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from relayml.domain.numbers import decode_float, encode_float
from relayml.stats.performance import Metric

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

MIN_ROWS = 200  # labelled evaluation rows below which no loss model is fitted
HOLDOUT = 0.3
FIT_ROWS = 50_000
MAX_CATEGORIES = 64
Z95 = 1.959963984540054
CHUNK = 1 << 16  # rows x trees evaluated at once (int64 node indices: 512 KB)
PARAMS = {"max_iter": 100, "learning_rate": 0.1, "max_leaf_nodes": 15, "max_depth": 5}


# ---------------------------------------------------------------- inputs as a matrix


@dataclass(frozen=True)
class Encoding:
    """How a table of input columns and the model's predictions become the trees' matrix."""

    columns: list[str]
    categories: list[list[str] | None]  # None: a number

    @classmethod
    def of(cls, table: pa.Table) -> Encoding:
        categories: list[list[str] | None] = []
        for name in table.column_names:
            col = table.column(name)
            if _is_number(col.type):
                categories.append(None)
                continue
            counts = pc.value_counts(pc.cast(col, pa.string()).drop_null()).to_pylist()
            counts.sort(key=lambda d: (-int(d["counts"]), str(d["values"])))
            categories.append([str(d["values"]) for d in counts[:MAX_CATEGORIES]])
        return cls(list(table.column_names), categories)

    def matrix(self, table: pa.Table, predictions: Floats) -> Floats:
        out = np.empty((table.num_rows, len(self.columns) + 1), dtype=np.float64)
        for i, (name, cats) in enumerate(zip(self.columns, self.categories, strict=True)):
            col = table.column(name)
            if cats is None:
                if not _is_number(col.type):
                    raise ValueError(f"column {name!r} was a number when the loss model was fit")
                if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)):
                    col = pc.cast(col, pa.int64())
                out[:, i] = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
            else:
                text = pc.cast(col, pa.string())
                code = pc.index_in(text, value_set=pa.array(cats, pa.string()))
                filled = pc.fill_null(code, len(cats)).to_numpy(zero_copy_only=False)
                values = filled.astype(np.float64)
                values[pc.is_null(text).to_numpy(zero_copy_only=False)] = np.nan
                out[:, i] = values
        out[:, -1] = predictions
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "categories": self.categories}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Encoding:
        return cls(
            [str(c) for c in d["columns"]],
            [None if c is None else list(c) for c in d["categories"]],
        )


def _is_number(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_temporal(t)
        or pa.types.is_decimal(t)
    )


# ---------------------------------------------------------------- trees as arrays


@dataclass(frozen=True)
class Trees:
    """A fitted HistGradientBoostingRegressor's trees as arrays: one table of nodes for all
    trees, each leaf pointing to itself (so ``depth`` steps bring every row to its leaf)."""

    baseline: float
    roots: Ints
    feature: Ints
    threshold: Floats
    missing_left: npt.NDArray[np.bool_]
    left: Ints
    right: Ints
    value: Floats
    depth: int

    @classmethod
    def of(cls, estimator: Any) -> Trees:
        """The arrays of a fitted HistGradientBoostingRegressor (numeric splits only)."""
        predictors = [p for it in estimator._predictors for p in it]
        baseline = float(np.ravel(estimator._baseline_prediction)[0])
        roots, parts, offset, depth = [], [], 0, 0
        for p in predictors:
            nodes = p.nodes
            if np.any(nodes["is_categorical"]):
                raise ValueError("categorical splits are not read; categories are codes here")
            leaf = nodes["is_leaf"].astype(bool)
            idx = np.arange(nodes.size, dtype=np.int64) + offset
            left = np.where(leaf, idx, nodes["left"].astype(np.int64) + offset)
            right = np.where(leaf, idx, nodes["right"].astype(np.int64) + offset)
            threshold = np.where(leaf, np.inf, nodes["num_threshold"])
            parts.append((
                np.where(leaf, 0, nodes["feature_idx"]).astype(np.int64), threshold,
                np.where(leaf, True, nodes["missing_go_to_left"].astype(bool)), left, right,
                np.where(leaf, nodes["value"], 0.0),
            ))  # fmt: skip
            roots.append(offset)
            offset += nodes.size
            depth = max(depth, int(nodes["depth"].max()))
        if not parts:
            empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
            return cls(baseline, empty_i, empty_i, empty_f, np.zeros(0, bool), empty_i, empty_i,
                       empty_f, 0)  # fmt: skip
        cols = [np.concatenate([p[k] for p in parts]) for k in range(6)]
        return cls(
            baseline, np.asarray(roots, np.int64), cols[0], cols[1].astype(np.float64),
            cols[2].astype(bool), cols[3], cols[4], cols[5].astype(np.float64), depth,
        )  # fmt: skip

    def predict(self, x: Floats) -> Floats:
        out = np.full(x.shape[0], self.baseline, dtype=np.float64)
        trees, width = self.roots.size, x.shape[1]
        if trees == 0:
            return out
        step = max(CHUNK // trees, 1)
        for start in range(0, x.shape[0], step):
            block = np.ascontiguousarray(x[start : start + step]).ravel()
            rows = block.size // width
            base = (np.arange(rows, dtype=np.int64) * width)[:, None]
            node = np.repeat(self.roots[None, :], rows, axis=0)
            for _ in range(self.depth):
                v = block.take(base + self.feature.take(node))
                go_left = v <= self.threshold.take(node)
                missing = np.isnan(v)
                if missing.any():
                    go_left |= missing & self.missing_left.take(node)
                node = np.where(go_left, self.left.take(node), self.right.take(node))
            out[start : start + rows] += self.value.take(node).sum(axis=1)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": encode_float(self.baseline),
            "roots": self.roots.tolist(),
            "feature": self.feature.tolist(),
            "threshold": [encode_float(float(t)) for t in self.threshold],
            "missing_left": self.missing_left.astype(int).tolist(),
            "left": self.left.tolist(),
            "right": self.right.tolist(),
            "value": self.value.tolist(),
            "depth": self.depth,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Trees:
        return cls(
            decode_float(d["baseline"]),
            np.asarray(d["roots"], np.int64),
            np.asarray(d["feature"], np.int64),
            np.asarray([decode_float(t) for t in d["threshold"]], np.float64),
            np.asarray(d["missing_left"], np.int64).astype(bool),
            np.asarray(d["left"], np.int64),
            np.asarray(d["right"], np.int64),
            np.asarray(d["value"], np.float64),
            int(d["depth"]),
        )


# ---------------------------------------------------------------- the loss model


@dataclass(frozen=True)
class LossModel:
    """What a regressor's monitor estimates its errors with, and how well it did on the
    reference's held-out rows."""

    encoding: Encoding
    absolute: Trees  # estimates |prediction - truth|
    squared: Trees  # estimates (prediction - truth)²
    holdout_rows: int
    residual_abs_sd: float  # sd of |e| - estimated |e| on the held-out rows
    residual_sq_sd: float  # sd of e² - estimated e²
    holdout: dict[str, float]  # realised and estimated MAE and RMSE on the held-out rows
    holdout_sums: LossSums  # the estimate on the held-out rows: what windows compare with

    def errors(self, table: pa.Table, predictions: Floats) -> tuple[Floats, Floats]:
        """The estimated absolute and squared error of every row (never below zero)."""
        x = self.encoding.matrix(table, predictions)
        return (
            np.maximum(self.absolute.predict(x), 0.0),
            np.maximum(self.squared.predict(x), 0.0),
        )

    def sums(self, table: pa.Table, predictions: Floats) -> LossSums:
        a, s = self.errors(table, predictions)
        return LossSums.of(a, s)

    @property
    def digest(self) -> str:
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "direct loss estimation (HistGradientBoostingRegressor)",
            "encoding": self.encoding.to_dict(),
            "absolute": self.absolute.to_dict(),
            "squared": self.squared.to_dict(),
            "holdout_rows": self.holdout_rows,
            "residual_abs_sd": encode_float(self.residual_abs_sd),
            "residual_sq_sd": encode_float(self.residual_sq_sd),
            "holdout": {k: encode_float(v) for k, v in self.holdout.items()},
            "holdout_sums": self.holdout_sums.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LossModel:
        return cls(
            Encoding.from_dict(d["encoding"]),
            Trees.from_dict(d["absolute"]),
            Trees.from_dict(d["squared"]),
            int(d["holdout_rows"]),
            decode_float(d["residual_abs_sd"]),
            decode_float(d["residual_sq_sd"]),
            {str(k): decode_float(v) for k, v in d["holdout"].items()},
            LossSums.from_dict(d["holdout_sums"]),
        )


@dataclass(frozen=True)
class LossSums:
    """A window's estimated errors: rows, and the sums of estimated absolute and squared
    errors (mergeable)."""

    rows: int = 0
    abs_sum: float = 0.0
    sq_sum: float = 0.0
    sq_sq_sum: float = 0.0  # sum of (estimated e²)²: the spread of the RMSE's estimate

    @classmethod
    def of(cls, absolute: Floats, squared: Floats) -> LossSums:
        return cls(
            int(absolute.size), float(absolute.sum()), float(squared.sum()),
            float(np.square(squared).sum()),
        )  # fmt: skip

    def merge(self, other: LossSums) -> LossSums:
        return LossSums(
            self.rows + other.rows,
            self.abs_sum + other.abs_sum,
            self.sq_sum + other.sq_sum,
            self.sq_sq_sum + other.sq_sq_sum,
        )

    def metrics(self, model: LossModel) -> dict[str, Metric]:
        """Estimated MAE and RMSE with their standard errors and, as ``bound``, the band
        around the estimate within which the realised value falls about 95 % of the time."""
        n = self.rows
        if n == 0:
            nan = Metric(math.nan, math.nan, 0)
            return {"rmse": nan, "mae": nan}
        mae, mse = self.abs_sum / n, self.sq_sum / n
        rmse = math.sqrt(mse)
        se_mae = math.sqrt(max(mse - mae * mae, 0.0) / n)
        # the window's own spread of estimated squared errors, plus what the trees miss of
        # each row's (held out): heavy tails in this window widen it, as they would the realised
        var_sq = max(self.sq_sq_sum / n - mse * mse, 0.0) + model.residual_sq_sd**2
        se_rmse = math.sqrt(var_sq / n) / (2 * rmse) if rmse > 0 else 0.0
        band_mae = Z95 * model.residual_abs_sd / math.sqrt(n)
        band_rmse = Z95 * model.residual_sq_sd / math.sqrt(n) / (2 * rmse) if rmse > 0 else 0.0
        return {
            "rmse": Metric(rmse, se_rmse, n, band_rmse),
            "mae": Metric(mae, se_mae, n, band_mae),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "abs_sum": encode_float(self.abs_sum),
            "sq_sum": encode_float(self.sq_sum),
            "sq_sq_sum": encode_float(self.sq_sq_sum),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LossSums:
        return cls(
            int(d["rows"]), decode_float(d["abs_sum"]), decode_float(d["sq_sum"]),
            decode_float(d["sq_sq_sum"]),
        )  # fmt: skip


def fit_loss_model(
    table: pa.Table, predictions: Floats, labels: Floats, *, seed: int = 0
) -> LossModel:
    """Fit the loss model on labelled evaluation rows (``table``: the monitored input columns).
    Raises ImportError without scikit-learn, ValueError with fewer than ``MIN_ROWS`` rows or
    trees that do not read back exactly."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    n = table.num_rows
    if n < MIN_ROWS:
        raise ValueError(f"{n} labelled evaluation rows; the loss model needs {MIN_ROWS}")
    encoding = Encoding.of(table)
    x = encoding.matrix(table, predictions)
    error = predictions - labels
    absolute, squared = np.abs(error), error * error
    order = np.random.default_rng(seed).permutation(n)
    cut = round(n * (1 - HOLDOUT))
    fit, held = order[:cut][:FIT_ROWS], order[cut:]
    models = []
    for target in (absolute, squared):
        est = HistGradientBoostingRegressor(
            **PARAMS, early_stopping=False, random_state=seed, categorical_features=None
        )
        est.fit(x[fit], target[fit])
        trees = Trees.of(est)
        ours, theirs = trees.predict(x[held]), est.predict(x[held])
        if not np.allclose(ours, theirs, rtol=1e-9, atol=1e-9 * (1 + float(np.abs(theirs).max()))):
            raise ValueError(
                "the fitted trees do not read back as scikit-learn predicts with them; this "
                "scikit-learn version stores its trees otherwise"
            )
        models.append(trees)
    a_hat = np.maximum(models[0].predict(x[held]), 0.0)
    s_hat = np.maximum(models[1].predict(x[held]), 0.0)
    a, s = absolute[held], squared[held]
    mse = float(s.mean())
    return LossModel(
        encoding,
        models[0],
        models[1],
        int(held.size),
        float(np.std(a - a_hat)),
        float(np.std(s - s_hat)),
        {
            "mae": float(a.mean()),
            "mae_estimated": float(a_hat.mean()),
            "rmse": math.sqrt(mse),
            "rmse_estimated": math.sqrt(float(s_hat.mean())),
        },
        LossSums.of(a_hat, s_hat),
    )
