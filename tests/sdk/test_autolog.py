"""`relay.autolog()` with real scikit-learn estimators: a pipeline's fit logs its flattened
params and training metrics and leaves the model ready to register; a grid search logs once,
for the outer fit; disabling restores scikit-learn; a fit outside a run logs nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import relayml as relay
from relayml.errors import InvalidInput


@pytest.fixture
def autologging(sdk_home: Path) -> Iterator[Path]:
    relay.init(project="churn")
    relay.autolog()
    yield sdk_home
    relay.autolog(disable=True)


def _data(n: int = 200) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"tenure": rng.normal(size=n), "spend": rng.normal(size=n)})
    y = pd.Series(((X.tenure - X.spend + rng.normal(scale=0.7, size=n)) > 0).astype(int))
    return X, y


def test_a_pipeline_fit_logs_params_metrics_and_registers(autologging: Path) -> None:
    X, y = _data()
    with relay.start_run(experiment="auto") as run:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.3)).fit(X, y)
    stored = relay.get_run(run.id)
    assert stored.params["logisticregression__C"] == "0.3"
    assert stored.params["standardscaler__with_mean"] == "True"
    assert stored.params["logisticregression"] == "LogisticRegression"
    assert "steps" not in stored.params  # each step's params are logged on their own
    accuracy = accuracy_score(y, model.predict(X))
    assert stored.metrics["training_accuracy"] == pytest.approx(accuracy)
    assert stored.metrics["training_score"] == pytest.approx(accuracy)
    assert stored.metrics["training_log_loss"] == pytest.approx(log_loss(y, model.predict_proba(X)))
    # one point each: the scaler's and the regression's own fits ran inside the pipeline's
    assert len(stored.metric_history("training_accuracy")) == 1

    mv = run.register_model("churn", description="autologged")
    assert mv.run_id == run.id and mv.signature is not None
    assert mv.signature.names == ["tenure", "spend"]
    loaded = relay.models.load("churn@1")
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
    again = relay.models.register("churn", run=run)  # the same, through the registry's SDK
    assert again.run_id == run.id and again.signature == mv.signature


def test_a_grid_search_logs_only_its_outer_fit(autologging: Path) -> None:
    X, y = _data()
    search = GridSearchCV(
        Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]),
        {"clf__C": [0.01, 1.0]},
        cv=3,
    )
    with relay.start_run(experiment="auto") as run:
        search.fit(X, y)
    stored = relay.get_run(run.id)
    assert stored.params["cv"] == "3" and stored.params["estimator"] == "Pipeline"
    assert stored.params["estimator__clf__C"] == "1.0"  # the template's, not a candidate's
    assert stored.params["best_clf__C"] == str(search.best_params_["clf__C"])
    assert stored.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    # 2 candidates x 3 folds + the refit are 7 inner pipeline fits: none logged
    assert len(stored.metric_history("training_score")) == 1
    assert stored.metrics["training_score"] == pytest.approx(search.score(X, y))
    mv = run.register_model("searched")  # the refitted best pipeline, not the search object
    assert mv.signature is not None and mv.signature.names == ["tenure", "spend"]
    best = relay.models.load("searched@1")
    np.testing.assert_allclose(best.predict_proba(X), search.best_estimator_.predict_proba(X))


def test_regressors_outside_runs_and_disable(autologging: Path) -> None:
    X, y = _data()
    LinearRegression().fit(X, y)  # no active run: nothing to log to, nothing fails
    with relay.start_run(experiment="auto") as run:
        LinearRegression().fit(X, y.astype(float))
    metrics = relay.get_run(run.id).metrics
    assert {"training_score", "training_rmse", "training_mae"} <= set(metrics)

    relay.autolog()  # enabling twice changes nothing
    wrapped = LogisticRegression.fit
    relay.autolog(disable=True)
    assert LogisticRegression.fit is not wrapped
    assert not hasattr(LogisticRegression.fit, "__relay_autolog__")
    assert not hasattr(Pipeline.fit, "__relay_autolog__")
    with relay.start_run(experiment="auto") as quiet:
        LogisticRegression().fit(X, y)
    assert relay.get_run(quiet.id).params == {} and relay.get_run(quiet.id).metrics == {}
    with pytest.raises(InvalidInput, match=r"relay\.autolog"):
        relay.models.register("nothing", run=quiet)
    relay.autolog()  # the fixture disables it again


def test_estimators_defined_later_and_a_second_fit(autologging: Path) -> None:
    class Majority(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
        def __init__(self, bias: float = 0.0) -> None:
            self.bias = bias

        def fit(self, X: object, y: pd.Series) -> Majority:
            self.classes_ = np.unique(y)
            self.majority_ = int(y.mode()[0])
            return self

        def predict(self, X: pd.DataFrame) -> np.ndarray:
            return np.full(len(X), self.majority_)

    X, y = _data()
    with relay.start_run(experiment="auto") as run:
        Majority(bias=0.5).fit(X, y)
        with pytest.warns(UserWarning, match="immutable"):
            Majority(bias=0.9).fit(X, y)  # a second fit: its conflicting param is not logged
    stored = relay.get_run(run.id)
    assert stored.params == {"bias": "0.5"}
    assert len(stored.metric_history("training_accuracy")) == 2
    with pytest.raises(InvalidInput, match="disable"):
        relay.autolog(disable="yes")  # type: ignore[arg-type]
