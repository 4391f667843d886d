"""`relay.autolog()`: fitting a scikit-learn estimator inside a run logs it, with no line per value.

    relay.autolog()
    with relay.start_run(experiment="baseline") as run:
        model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    run.register_model("churn")          # the fitted model, its signature from X's first rows

What a fit logs, when it returns: the estimator's parameters (`get_params(deep=True)`, so a
pipeline's or a search's nested parameters appear as `step__param`), and training metrics on
the data it was fitted on: `training_score` (the estimator's own `score`), and for a classifier
`training_accuracy` and, where `predict_proba` exists, `training_log_loss`; for a regressor
`training_rmse` and `training_mae`; for a search, `best_cv_score` and the best parameters as
`best_<param>`. Only the outermost fit logs: a pipeline's steps and a search's candidate fits
run inside it. The fitted estimator (a search's refitted `best_estimator_`) and the first rows of
its input are kept on the run, ready for `run.register_model(name)` or
`relay.models.register(name, run=run)`.

Autolog patches the `fit` of every scikit-learn estimator class (those defined later too) and
`relay.autolog(disable=True)` puts every original back. Nothing leaves the process but the
run's own writes; a value that cannot be logged is a warning, never a failed fit.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import math
import threading
import warnings
from collections.abc import Callable
from typing import Any

from relayml.errors import InvalidInput, RelayError
from relayml.sdk.run import ActiveRun, active_run

EXAMPLE_ROWS = 5
MAX_VALUE = 500

_lock = threading.Lock()
_originals: dict[type, Callable[..., Any]] = {}
_enabled = False
_fitting: contextvars.ContextVar[bool] = contextvars.ContextVar("relay_autolog_fit", default=False)


def autolog(*, disable: bool = False) -> None:
    """Log every scikit-learn fit inside an active run (`relay.start_run`): params, training
    metrics, and the fitted model kept ready to register. ``disable=True`` restores scikit-learn
    as it was. Calling it again while enabled changes nothing."""
    if not isinstance(disable, bool):
        raise InvalidInput(f"disable must be true or false, not {disable!r}")
    try:
        from sklearn.base import BaseEstimator
    except ImportError as exc:  # pragma: no cover - scikit-learn is a dependency of relayml
        raise InvalidInput("relay.autolog() needs scikit-learn: pip install scikit-learn") from exc
    global _enabled
    with _lock:
        if disable:
            for cls, original in _originals.items():
                cls.fit = original  # type: ignore[attr-defined]
            _originals.clear()
            if "__init_subclass__" in BaseEstimator.__dict__:
                delattr(BaseEstimator, "__init_subclass__")
            _enabled = False
            return
        if _enabled:
            return
        stack: list[type] = [BaseEstimator]
        seen: set[type] = set()
        while stack:
            cls = stack.pop()
            if cls in seen:
                continue
            seen.add(cls)
            _patch(cls)
            stack.extend(cls.__subclasses__())

        def __init_subclass__(cls: type[Any], /, **kwargs: Any) -> None:
            super(BaseEstimator, cls).__init_subclass__(**kwargs)
            with _lock:
                if _enabled:
                    _patch(cls)

        BaseEstimator.__init_subclass__ = classmethod(__init_subclass__)
        _enabled = True


def _patch(cls: type) -> None:
    original = cls.__dict__.get("fit")
    if not inspect.isfunction(original) or cls in _originals:
        return
    _originals[cls] = original
    cls.fit = _wrap(original)  # type: ignore[attr-defined]


def _wrap(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        run = active_run()
        if run is None or _fitting.get():
            return original(self, *args, **kwargs)
        token = _fitting.set(True)
        try:
            result = original(self, *args, **kwargs)
        finally:
            _fitting.reset(token)
        X = args[0] if args else kwargs.get("X")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        _record(run, self, X, y)
        return result

    fit.__relay_autolog__ = True  # type: ignore[attr-defined]
    return fit


def _record(run: ActiveRun, model: Any, X: Any, y: Any) -> None:
    """Log what the fit of `model` on (X, y) says, and keep the model on the run. Nothing here
    may fail the user's fit: what cannot be logged is a warning. Scoring may call a user's
    code that fits something: that fit logs nothing."""
    token = _fitting.set(True)
    try:
        # a search keeps its refitted best estimator: that is the model to deploy (the search
        # object also holds its scorer and CV results, which are no model)
        best = getattr(model, "best_estimator_", None)
        kept = model if best is None else best
        run._autologged = (kept, _head(X))
        _log_params(run, _params(model))
        metrics = _metrics(model, X, y)
        if metrics:
            run.log_metrics(metrics)
    except RelayError as exc:
        warnings.warn(
            f"relay.autolog could not log the fit of {type(model).__name__}: {exc.message}",
            stacklevel=3,
        )
    finally:
        _fitting.reset(token)


def _head(X: Any) -> Any:
    if X is None:
        return None
    try:
        return X.iloc[:EXAMPLE_ROWS] if hasattr(X, "iloc") else X[:EXAMPLE_ROWS]
    except (TypeError, IndexError, KeyError):
        return None


def _value(value: Any) -> str | int | float | bool | None:
    from sklearn.base import BaseEstimator

    if isinstance(value, bool | int | float | str) or value is None:
        return value if not isinstance(value, str) or len(value) <= MAX_VALUE else value[:MAX_VALUE]
    if isinstance(value, BaseEstimator):
        return type(value).__name__
    item = getattr(value, "item", None)  # a NumPy scalar
    if callable(item) and getattr(value, "shape", None) == ():
        got = item()
        if isinstance(got, bool | int | float | str):
            return got
    if isinstance(value, type) or callable(value):
        return getattr(value, "__name__", type(value).__name__)
    text = repr(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."


def _params(model: Any) -> dict[str, Any]:
    try:
        params = model.get_params(deep=True)
    except Exception:  # a user's estimator with a broken get_params: log none
        return {}
    out = {}
    for key, value in params.items():
        if key.rsplit("__", 1)[-1] in ("steps", "transformers", "estimators"):
            continue  # lists of (name, estimator): each step's params appear on their own
        out[key] = _value(value)
    best = getattr(model, "best_params_", None)
    if isinstance(best, dict):
        out.update({f"best_{k}": _value(v) for k, v in best.items()})
    return out


def _log_params(run: ActiveRun, params: dict[str, Any]) -> None:
    current = run._params
    conflicts = sorted(k for k, v in params.items() if k in current and current[k] != str(v))
    if conflicts:
        warnings.warn(
            f"relay.autolog: run {run.id} already has params {conflicts[:5]} with other values "
            "(params are immutable): they keep their first values; start a run per fit to log "
            "each",
            stacklevel=4,
        )
    run.log_params({k: v for k, v in params.items() if k not in conflicts})


def _metrics(model: Any, X: Any, y: Any) -> dict[str, float]:
    from sklearn.base import is_classifier, is_regressor

    out: dict[str, float] = {}

    def put(name: str, compute: Callable[[], Any]) -> None:
        try:
            value = float(compute())
        except Exception:  # a metric that does not apply to this estimator or data
            return
        if math.isfinite(value):
            out[name] = value

    if X is None:
        return out
    if hasattr(model, "score"):
        put("training_score", lambda: model.score(X, y) if y is not None else model.score(X))
    best = getattr(model, "best_score_", None)
    if best is not None:
        put("best_cv_score", lambda: best)
    if y is None:
        return out
    if is_classifier(model):
        from sklearn.metrics import accuracy_score, log_loss

        put("training_accuracy", lambda: accuracy_score(y, model.predict(X)))
        if hasattr(model, "predict_proba"):
            put(
                "training_log_loss",
                lambda: log_loss(y, model.predict_proba(X), labels=model.classes_),
            )
    elif is_regressor(model):
        from sklearn.metrics import mean_absolute_error, mean_squared_error

        predicted = None

        def prediction() -> Any:
            nonlocal predicted
            if predicted is None:
                predicted = model.predict(X)
            return predicted

        put("training_rmse", lambda: math.sqrt(mean_squared_error(y, prediction())))
        put("training_mae", lambda: mean_absolute_error(y, prediction()))
    return out


def autologged_model(run: Any) -> tuple[Any, Any] | None:
    """The model the last autologged fit in `run` produced, with its input's first rows."""
    found = getattr(run, "_autologged", None)
    return found if isinstance(found, tuple) else None
