"""XGBoost and LightGBM in their own formats, which hold trees and numbers, never code.

XGBoost: its JSON model file, as ``save_model`` writes it (the scikit-learn wrapper's settings
ride inside it, so ``XGBClassifier``/``XGBRegressor`` come back as themselves). LightGBM: its
text model in a small JSON envelope that adds what the text has no place for: whether the model
was a classifier, its classes (labels may be strings), and whether it was fitted on named
columns. Either library is imported only when such a model is saved or loaded.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import TYPE_CHECKING, Any

from relayml.errors import Unprocessable
from relayml.flavors.adapters import EstimatorPredictor, Predictor, run_user_code

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    Array = np.ndarray[Any, Any]

LIGHTGBM_ENVELOPE = "relay-lightgbm/1"


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise Unprocessable(
            f"this model is in {module}'s format and {module} is not installed here; "
            f"pip install {module}"
        ) from None


# ---------------------------------------------------------------- XGBoost


def dump_xgboost(model: Any) -> bytes:
    xgboost = _require("xgboost")
    if isinstance(model, xgboost.Booster):
        return bytes(model.save_raw(raw_format="json"))
    if not isinstance(model, xgboost.XGBModel):
        raise Unprocessable(f"cannot save a {type(model).__name__} in XGBoost's format")
    fd, tmp = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        model.save_model(tmp)
        with open(tmp, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(tmp)


class XGBoostBoosterPredictor:
    """A bare ``xgboost.Booster`` (not the scikit-learn wrapper): what ``predict`` gives."""

    def __init__(self, booster: Any) -> None:
        self.classes: tuple[Any, ...] | None = None
        self.has_proba = False
        self.model = booster
        names = booster.feature_names
        self.feature_names = None if names is None else [str(n) for n in names]

    def predict(self, frame: pd.DataFrame) -> Array:
        import numpy as np
        import xgboost

        data = frame if self.feature_names is not None else frame.to_numpy()
        return np.asarray(
            run_user_code("predict", lambda d: self.model.predict(xgboost.DMatrix(d)), data)
        )

    def predict_proba(self, frame: pd.DataFrame) -> Array:
        raise Unprocessable("a bare XGBoost Booster has no predict_proba; use predict")


def load_xgboost(data: bytes) -> Predictor:
    xgboost = _require("xgboost")
    try:
        document = json.loads(data)
        meta = document["learner"]["attributes"].get("scikit_learn")
        kind = json.loads(meta).get("_estimator_type") if meta else None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Unprocessable(f"the file is not an XGBoost JSON model: {exc}") from exc
    wrappers = {
        "classifier": xgboost.XGBClassifier,
        "regressor": xgboost.XGBRegressor,
        "ranker": xgboost.XGBRanker,
    }
    try:
        if kind in wrappers:
            model = wrappers[kind]()
            model.load_model(bytearray(data))
            return EstimatorPredictor(model)
        booster = xgboost.Booster()
        booster.load_model(bytearray(data))
    except xgboost.core.XGBoostError as exc:
        raise Unprocessable(f"XGBoost could not read the model: {exc}") from exc
    return XGBoostBoosterPredictor(booster)


# ---------------------------------------------------------------- LightGBM


def dump_lightgbm(model: Any) -> bytes:
    lightgbm = _require("lightgbm")
    if isinstance(model, lightgbm.Booster):
        booster, kind, classes, named = model, "booster", None, False
    elif isinstance(model, lightgbm.LGBMModel):
        booster = model.booster_
        is_classifier = isinstance(model, lightgbm.LGBMClassifier)
        kind = "classifier" if is_classifier else "regressor"
        classes = model.classes_.tolist() if is_classifier else None
        # LightGBM renames columns it was fitted on (spaces to underscores), so the names
        # to check are the signature's; this says only whether to pass a DataFrame
        named = hasattr(model, "feature_names_in_")
    else:
        raise Unprocessable(f"cannot save a {type(model).__name__} in LightGBM's format")
    envelope = {
        "format": LIGHTGBM_ENVELOPE,
        "kind": kind,
        "classes": classes,
        "named_columns": named,
        "model": booster.model_to_string(),
    }
    return json.dumps(envelope).encode()


class LightGBMPredictor:
    """A LightGBM Booster, answering as the scikit-learn wrapper it was saved from did."""

    def __init__(self, booster: Any, kind: str, classes: list[Any] | None, named: bool) -> None:
        # LightGBM renames columns (spaces to underscores); the signature holds the real names
        self.feature_names: list[str] | None = None
        self.model = booster
        self.kind = kind
        self.classes = None if classes is None else tuple(classes)
        self.named = named
        self.has_proba = kind == "classifier"

    def _raw(self, what: str, frame: pd.DataFrame) -> Array:
        import numpy as np

        data = frame if self.named else frame.to_numpy()
        return np.asarray(run_user_code(what, self.model.predict, data))

    def predict_proba(self, frame: pd.DataFrame) -> Array:
        import numpy as np

        if self.classes is None:
            raise Unprocessable("this LightGBM model is not a classifier; use predict")
        raw = self._raw("predict_proba", frame)
        return np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, frame: pd.DataFrame) -> Array:
        import numpy as np

        if self.classes is None:
            return self._raw("predict", frame)
        proba = self.predict_proba(frame)
        labels: Array = np.asarray(self.classes)[np.argmax(proba, axis=1)]
        return labels


def load_lightgbm(data: bytes) -> Predictor:
    lightgbm = _require("lightgbm")
    try:
        envelope = json.loads(data)
        if envelope.get("format") != LIGHTGBM_ENVELOPE:
            raise ValueError(f"format is {envelope.get('format')!r}")
        kind, classes = envelope["kind"], envelope["classes"]
        named, text = bool(envelope["named_columns"]), envelope["model"]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Unprocessable(f"the file is not a Relay LightGBM model: {exc}") from exc
    if kind not in ("classifier", "regressor", "booster") or not isinstance(text, str):
        raise Unprocessable(f"the LightGBM model's kind {kind!r} is unknown")
    if classes is not None and not isinstance(classes, list):
        raise Unprocessable("the LightGBM model's classes are not a list")
    try:
        booster = lightgbm.Booster(model_str=text)
    except lightgbm.basic.LightGBMError as exc:
        raise Unprocessable(f"LightGBM could not read the model: {exc}") from exc
    return LightGBMPredictor(booster, kind, classes, named)
