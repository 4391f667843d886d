"""One way to run any model Relay holds: a ``Predictor`` per kind of loaded object, and the
detection of a model's flavor from the object itself (by the modules its classes come from,
so no ML library is imported to ask)."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from relayml.domain.models import Flavor
from relayml.errors import InvalidInput, Unprocessable, UserCodeError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    Array = np.ndarray[Any, Any]


class Predictor(Protocol):
    """A model ready to run on a DataFrame whose columns are already checked."""

    feature_names: list[str] | None  # the columns the model was fitted on, if it knows them
    classes: tuple[Any, ...] | None  # a classifier's classes, in its probabilities' order
    has_proba: bool

    def predict(self, frame: pd.DataFrame) -> Array: ...

    def predict_proba(self, frame: pd.DataFrame) -> Array: ...


def _roots(model: Any) -> set[str]:
    return {cls.__module__.split(".")[0] for cls in type(model).__mro__}


def detect_flavor(model: Any) -> Flavor | None:
    """The safe format for ``model``, or None when Relay has none (only pickle would do)."""
    roots = _roots(model)
    if "onnx" in roots and type(model).__name__ == "ModelProto":
        return Flavor.ONNX
    if "xgboost" in roots:  # before sklearn: XGBoost's estimators subclass scikit-learn's
        return Flavor.XGBOOST
    if "lightgbm" in roots:
        return Flavor.LIGHTGBM
    if "sklearn" in roots:
        return Flavor.SKLEARN
    return None


# Final estimators whose predict is the class with the highest predict_proba.
ARGMAX_CLASSIFIERS = frozenset(
    {
        "LogisticRegression",
        "LogisticRegressionCV",
        "DecisionTreeClassifier",
        "ExtraTreeClassifier",
        "RandomForestClassifier",
        "ExtraTreesClassifier",
        "GradientBoostingClassifier",
        "HistGradientBoostingClassifier",
        "KNeighborsClassifier",
        "GaussianNB",
        "MultinomialNB",
        "BernoulliNB",
        "ComplementNB",
        "CategoricalNB",
        "MLPClassifier",
        "LinearDiscriminantAnalysis",
        "QuadraticDiscriminantAnalysis",
        "XGBClassifier",
        "LGBMClassifier",
    }
)


def final_estimator(model: Any) -> Any:
    """The estimator at the end of a pipeline (or a search's best one)."""
    while True:
        if hasattr(model, "steps") and isinstance(model.steps, list) and model.steps:
            model = model.steps[-1][1]
        elif hasattr(model, "best_estimator_"):
            model = model.best_estimator_
        else:
            return model


def run_user_code(what: str, fn: Callable[[Any], Any], arg: Any) -> Any:
    """``fn(arg)``; anything it raises becomes UserCodeError with the model's traceback."""
    try:
        return fn(arg)
    except Exception as exc:
        raise UserCodeError(
            f"the model's {what} raised {type(exc).__name__}: {exc}",
            user_traceback=traceback.format_exc(),
        ) from exc


class EstimatorPredictor:
    """A scikit-learn-style estimator (``predict``, maybe ``predict_proba``): scikit-learn,
    the scikit-learn APIs of XGBoost and LightGBM, and trusted pickles."""

    def __init__(self, model: Any) -> None:
        if not callable(getattr(model, "predict", None)):
            raise InvalidInput(
                f"{type(model).__name__} has no predict method; Relay runs models that do"
            )
        self.model = model
        names = getattr(model, "feature_names_in_", None)
        self._named = names is not None
        self.feature_names = None if names is None else [str(n) for n in names]
        if "lightgbm" in _roots(model):
            self.feature_names = None  # LightGBM renames the columns it was fitted on
        classes = getattr(model, "classes_", None)
        self.classes = None if classes is None else tuple(classes)
        self.has_proba = callable(getattr(model, "predict_proba", None))

    def _input(self, frame: pd.DataFrame) -> Any:
        # fitted on a DataFrame: give it one (it checks names); fitted on an array: give it one,
        # as scikit-learn warns when names appear that it was not fitted with
        return frame if self._named else frame.to_numpy()

    def predict(self, frame: pd.DataFrame) -> Array:
        import numpy as np

        return np.asarray(run_user_code("predict", self.model.predict, self._input(frame)))

    def predict_proba(self, frame: pd.DataFrame) -> Array:
        import numpy as np

        if not self.has_proba:
            raise Unprocessable(
                f"{type(self.model).__name__} has no predict_proba (it is not a probabilistic "
                "classifier); use predict"
            )
        return np.asarray(
            run_user_code("predict_proba", self.model.predict_proba, self._input(frame))
        )


_ONNX_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


class OnnxPredictor:
    """An ONNX graph in onnxruntime. Its inputs are either one 2-D tensor (the columns in the
    signature's order) or one tensor per column, named as the columns."""

    def __init__(self, data: bytes) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise Unprocessable(
                "this model is in ONNX format and onnxruntime is not installed here; "
                "pip install onnxruntime"
            ) from None
        try:
            self.session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise Unprocessable(f"the ONNX model does not load in onnxruntime: {exc}") from exc
        self.inputs = self.session.get_inputs()
        for node in self.inputs:
            if node.type not in _ONNX_TYPES:
                raise Unprocessable(
                    f"the ONNX input {node.name!r} has type {node.type}; Relay feeds "
                    f"{', '.join(_ONNX_TYPES)}"
                )
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.proba_output = next((o for o in self.outputs if "prob" in o.lower()), None)
        self.has_proba = self.proba_output is not None
        one = len(self.inputs) == 1 and len(self.inputs[0].shape or []) == 2
        self.feature_names: list[str] | None = None if one else [n.name for n in self.inputs]
        self.classes: tuple[Any, ...] | None = None

    def _feed(self, frame: pd.DataFrame) -> dict[str, Any]:
        if self.feature_names is None:
            node = self.inputs[0]
            return {node.name: frame.to_numpy(dtype=_ONNX_TYPES[node.type])}
        return {
            node.name: frame[node.name].to_numpy(dtype=_ONNX_TYPES[node.type]).reshape(-1, 1)
            for node in self.inputs
        }

    def _run(self, what: str, output: str, frame: pd.DataFrame) -> Any:
        feed = self._feed(frame)
        return run_user_code(what, lambda f: self.session.run([output], f)[0], feed)

    def predict(self, frame: pd.DataFrame) -> Array:
        import numpy as np

        out = np.asarray(self._run("predict", self.outputs[0], frame))
        return out.ravel() if out.ndim == 2 and out.shape[1] == 1 else out

    def predict_proba(self, frame: pd.DataFrame) -> Array:
        import numpy as np

        if self.proba_output is None:
            raise Unprocessable(
                f"the ONNX model has no probabilities output (its outputs: {self.outputs}); "
                "use predict"
            )
        out = self._run("predict_proba", self.proba_output, frame)
        if isinstance(out, list) and out and isinstance(out[0], dict):  # skl2onnx's ZipMap
            keys = list(out[0])
            self.classes = tuple(keys)
            return np.array([[row[k] for k in keys] for row in out], dtype=np.float64)
        return np.asarray(out)


def predictor_for(model: Any) -> Predictor:
    """A Predictor for an in-memory model object (at save time, to infer its signature)."""
    flavor = detect_flavor(model)
    if flavor is Flavor.ONNX:
        return OnnxPredictor(model.SerializeToString())
    if flavor is Flavor.XGBOOST and type(model).__name__ == "Booster":
        from relayml.flavors.boosters import XGBoostBoosterPredictor

        return XGBoostBoosterPredictor(model)
    return EstimatorPredictor(model)
