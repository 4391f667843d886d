"""XGBoost and LightGBM in their own formats (run where those libraries are installed)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from relayml.errors import IntegrityError, InvalidInput, Unprocessable
from relayml.flavors import Flavor, OutputKind, dump_model, load_model

Data = tuple[pd.DataFrame, "pd.Series[Any]"]


def _round_trip(model: Any, example: Any) -> Any:
    saved = dump_model(model, input_example=example)
    assert saved.digest == hashlib.sha256(saved.data).hexdigest()
    loaded = load_model(
        saved.data, flavor=saved.flavor, digest=saved.digest, signature=saved.signature
    )
    return saved, loaded


def test_xgboost_classifier_and_regressor(iris: Data) -> None:
    xgboost = pytest.importorskip("xgboost")
    X, y = iris
    clf = xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    saved, loaded = _round_trip(clf, X.head(5))
    assert saved.flavor is Flavor.XGBOOST and "xgboost" in saved.environment.packages
    json.loads(saved.data)  # XGBoost's own JSON, not a pickle
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), rtol=1e-6)
    assert saved.signature is not None and saved.signature.output.classes == (0, 1, 2)
    with pytest.raises(InvalidInput, match=r"missing column.*'petal width \(cm\)'"):
        loaded.predict(X.drop(columns=["petal width (cm)"]))

    reg = xgboost.XGBRegressor(n_estimators=5).fit(X.to_numpy(), y.to_numpy() * 1.5)
    saved, loaded = _round_trip(reg, X.to_numpy()[:3])
    assert saved.signature is not None and saved.signature.output.kind is OutputKind.VALUE
    np.testing.assert_allclose(loaded.predict(X.to_numpy()), reg.predict(X.to_numpy()))


def test_xgboost_bare_booster(iris: Data) -> None:
    xgboost = pytest.importorskip("xgboost")
    X, y = iris
    booster = xgboost.train({"max_depth": 2}, xgboost.DMatrix(X, label=y), num_boost_round=3)
    _, loaded = _round_trip(booster, X.head(3))
    expected = booster.predict(xgboost.DMatrix(X))
    np.testing.assert_allclose(loaded.predict(X), expected)
    with pytest.raises(Unprocessable, match="predict_proba"):
        loaded.predict_proba(X)


def test_lightgbm_classifier_with_string_labels_and_spaced_names(iris: Data) -> None:
    lightgbm = pytest.importorskip("lightgbm")
    X, y = iris
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, labels)
    saved, loaded = _round_trip(clf, X.head(5))  # LightGBM renames 'sepal length (cm)'
    assert saved.flavor is Flavor.LIGHTGBM
    assert saved.signature is not None and saved.signature.names == list(X.columns)
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.classes == ("setosa", "versicolor", "virginica")
    binary = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X.to_numpy(), y == 2)
    _, loaded = _round_trip(binary, X.to_numpy()[:4])
    np.testing.assert_allclose(
        loaded.predict_proba(X.to_numpy()), binary.predict_proba(X.to_numpy())
    )
    np.testing.assert_array_equal(loaded.predict(X.to_numpy()), binary.predict(X.to_numpy()))


def test_lightgbm_regressor_and_tampering(cancer: Data) -> None:
    lightgbm = pytest.importorskip("lightgbm")
    X, y = cancer
    reg = lightgbm.LGBMRegressor(n_estimators=5, verbose=-1).fit(X, y.astype(float))
    saved, loaded = _round_trip(reg, X.head(3))
    np.testing.assert_allclose(loaded.predict(X), reg.predict(X))
    tampered = saved.data.replace(b'"kind": "regressor"', b'"kind": "classifier"')
    assert tampered != saved.data
    with pytest.raises(IntegrityError):
        load_model(tampered, flavor="lightgbm", digest=saved.digest)
