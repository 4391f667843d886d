"""Model evaluation: every metric equals scikit-learn's on real models, per slice as overall,
and a million rows take about a second."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from relayml.errors import InvalidInput
from relayml.stats.evaluation import (
    MISSING,
    OTHER,
    Task,
    evaluate_classifier,
    evaluate_regressor,
    slice_groups,
)


def _fit(load: Any, model: Any) -> tuple[Any, Any, Any, Any]:
    X, y = load(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0)
    return make_pipeline(StandardScaler(), model).fit(X_train, y_train), X_test, y_test, X


def test_binary_classifier_metrics_equal_sklearn() -> None:
    model, X, y, _ = _fit(load_breast_cancer, LogisticRegression(C=0.05))
    proba = model.predict_proba(X)
    ev = evaluate_classifier(y, proba, classes=model.classes_)
    assert ev.task is Task.BINARY and ev.rows == len(y)
    pred = model.predict(X)
    assert ev.metrics["auc"] == pytest.approx(skm.roc_auc_score(y, proba[:, 1]), abs=1e-12)
    assert ev.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert ev.metrics["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert ev.metrics["log_loss"] == pytest.approx(skm.log_loss(y, proba), rel=1e-9)
    observed, predicted = calibration_curve(y, proba[:, 1], n_bins=10)
    assert ev.calibration is not None
    assert [b.observed for b in ev.calibration.bins] == pytest.approx(observed)
    assert [b.mean_predicted for b in ev.calibration.bins] == pytest.approx(predicted)
    counts = np.array([b.rows for b in ev.calibration.bins])
    assert counts.sum() == len(y)
    ece = float(np.sum(counts / len(y) * np.abs(observed - predicted)))
    assert ev.metrics["ece"] == pytest.approx(ece) and ev.calibration.ece == ev.metrics["ece"]
    # one column of the positive class's probability is the same evaluation
    assert evaluate_classifier(y, proba[:, 1], classes=[0, 1]).metrics == ev.metrics


def test_multiclass_metrics_equal_sklearn_with_string_labels() -> None:
    model, X, y, _ = _fit(load_iris, LogisticRegression(C=0.1))
    names = np.array(["setosa", "versicolor", "virginica"])
    proba = model.predict_proba(X)
    ev = evaluate_classifier(names[y], proba, classes=names)
    pred = proba.argmax(axis=1)
    assert ev.task is Task.MULTICLASS
    auc = skm.roc_auc_score(y, proba, multi_class="ovr", average="macro")
    assert ev.metrics["auc"] == pytest.approx(auc, abs=1e-12)
    assert ev.metrics["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert ev.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert ev.metrics["log_loss"] == pytest.approx(skm.log_loss(y, proba), rel=1e-9)
    assert 0 <= ev.metrics["ece"] <= 1


def test_regressor_metrics_equal_sklearn() -> None:
    model, X, y, _ = _fit(load_diabetes, Ridge())
    pred = model.predict(X)
    ev = evaluate_regressor(y, pred)
    assert ev.task is Task.REGRESSION and ev.calibration is None
    assert ev.metrics["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred))
    assert ev.metrics["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert ev.metrics["r2"] == pytest.approx(skm.r2_score(y, pred))
    assert evaluate_regressor([3.0, 3.0], [3.0, 3.0]).metrics["r2"] == skm.r2_score(
        [3.0, 3.0], [3.0, 3.0]
    )


def test_slices_show_a_group_where_the_model_is_worse() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    group = rng.choice(["north", "south"], n, p=[0.8, 0.2])
    y = rng.integers(0, 2, n)
    noise = np.where(group == "south", 0.45, 0.15)  # the model guesses worse in the south
    p = np.clip(np.where(y == 1, 0.7, 0.3) + rng.normal(0, noise), 0, 1)
    age = rng.uniform(18, 90, n)
    age[:10] = np.nan
    ev = evaluate_classifier(y, p, classes=[0, 1], slices={"region": group, "age": age})
    region = {s.value: s for s in ev.slices if s.column == "region"}
    assert region["north"].rows + region["south"].rows == n
    assert region["south"].metrics["auc"] < region["north"].metrics["auc"] - 0.1
    south = group == "south"
    assert region["south"].metrics["auc"] == pytest.approx(skm.roc_auc_score(y[south], p[south]))
    ages = [s for s in ev.slices if s.column == "age"]
    assert [s.value for s in ages][-1] == MISSING and ages[-1].rows == 10
    assert len(ages) == 5 and sum(s.rows for s in ages) == n  # 4 quartiles + missing
    assert ages[0].value.startswith("[18") and ages[3].value.endswith("]")
    assert all(abs(s.rows - (n - 10) / 4) <= 1 for s in ages[:4])
    document = json.loads(json.dumps(ev.to_dict(), allow_nan=False))
    assert document["slices"][0]["column"] == "region"


def test_slice_groups_pool_rare_values_and_keep_nulls() -> None:
    values = np.array([f"c{i}" for i in range(60)] * 2 + [None, None], dtype=object)
    groups = dict(slice_groups(values, values.size))
    assert len(groups) == 52 and groups[OTHER].size == 20 and groups[MISSING].size == 2
    days = (np.datetime64("2024-01-01") + np.arange(100).astype("timedelta64[D]")).astype(
        "datetime64[ns]"
    )
    quarters = slice_groups(days, 100, quantiles=4)
    assert quarters[0][0] == "[2024-01-01, 2024-01-25T18:00)"
    assert [idx.size for _, idx in quarters] == [25, 25, 25, 25]
    flags = dict(slice_groups(np.array([True, False, True]), 3))
    assert flags["True"].tolist() == [0, 2]
    one_class = evaluate_classifier(
        [1, 1, 0], [0.9, 0.8, 0.1], classes=[0, 1], slices={"s": ["a", "a", "b"]}
    )
    assert all(np.isnan(s.metrics["auc"]) for s in one_class.slices)  # one class: undefined
    assert one_class.to_dict()["slices"][0]["metrics"]["auc"] == "NaN"


def test_bad_inputs_say_what_to_do() -> None:
    with pytest.raises(InvalidInput, match=r"true label\(s\) \[2\] are not among.*\[0, 1\]"):
        evaluate_classifier([0, 2], [0.1, 0.2], classes=[0, 1])
    with pytest.raises(InvalidInput, match=r"\(2 x 3\), not shape \(2, 2\)"):
        evaluate_classifier([0, 1], [[0.5, 0.5], [0.5, 0.5]], classes=[0, 1, 2])
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        evaluate_classifier([0, 1], [0.5, 1.5], classes=[0, 1])
    with pytest.raises(
        InvalidInput, match=r"\['a', 'b'\] are not among the model's classes \[0, 1\]"
    ):
        evaluate_classifier(["a", "b"], [0.5, 0.5], classes=[0, 1])
    with pytest.raises(InvalidInput, match="1 missing or infinite"):
        evaluate_regressor([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(InvalidInput, match="one value per row"):
        evaluate_regressor([1.0, 2.0], [1.0, 2.0], slices={"s": [1]})


def test_a_million_rows_with_slices_in_seconds() -> None:
    rng = np.random.default_rng(1)
    n = 1_000_000
    y = rng.integers(0, 2, n)
    p = np.clip(y * 0.3 + rng.uniform(0, 0.7, n), 0, 1)
    slices = {"region": rng.choice(np.array(["a", "b", "c", "d"]), n), "x": rng.normal(size=n)}
    start = time.perf_counter()
    ev = evaluate_classifier(y, p, classes=[0, 1], slices=slices)
    elapsed = time.perf_counter() - start
    assert len(ev.slices) == 8
    assert ev.metrics["auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-9)
    assert elapsed < 10, f"{elapsed:.1f}s for 1M rows"  # about 1 s on a shared 2-core machine
