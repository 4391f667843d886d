"""Saving and loading models in formats that cannot run code on load, and pickle only on request.

    saved = dump_model(model, input_example=X[:5])      # flavor detected, signature inferred
    saved.flavor, saved.digest, saved.signature, saved.environment, saved.data
    m = load_model(saved.data, flavor=saved.flavor, digest=saved.digest,
                   signature=saved.signature, environment=saved.environment)
    m.predict(df); m.predict_proba(df)                  # input checked against the signature

Loading verifies the bytes' sha256 before it reads them, refuses a skops file that names a type
Relay does not trust before anything is constructed, and refuses a pickle unless the caller says
``unsafe_pickle=True``, before unpickling.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relayml.domain.artifacts import check_digest, sha256_hex
from relayml.domain.enums import parse_enum
from relayml.domain.models import Environment, Flavor, Signature
from relayml.errors import IntegrityError, InvalidInput, Unprocessable
from relayml.flavors import boosters, trust
from relayml.flavors import environment as env
from relayml.flavors.adapters import (
    ARGMAX_CLASSIFIERS,
    EstimatorPredictor,
    OnnxPredictor,
    Predictor,
    detect_flavor,
    final_estimator,
)
from relayml.flavors.signature import as_frame, enforce, infer_signature

if TYPE_CHECKING:
    import numpy as np

_PICKLE_REFUSED = (
    "this model is a pickle, and loading a pickle runs whatever code it holds; Relay loads it "
    "only when you pass unsafe_pickle=True, and you should only if you trust who saved it"
)


@dataclass(frozen=True)
class SavedModel:
    """A model as bytes, with what a registry records about it."""

    flavor: Flavor
    data: bytes = field(repr=False)
    digest: str  # sha256 of ``data``
    signature: Signature | None
    environment: Environment

    @property
    def unsafe_pickle(self) -> bool:
        """True when loading these bytes runs code (a pickle), so callers must opt in."""
        return self.flavor.runs_code_on_load


def _dump(model: Any, flavor: Flavor, trusted: frozenset[str]) -> bytes:
    if flavor is Flavor.SKLEARN:
        import skops.io

        try:
            data: bytes = skops.io.dumps(model)
        except Exception as exc:
            raise Unprocessable(
                f"skops could not save this {type(model).__name__}: {exc}; if it holds objects "
                "skops cannot save, convert the model to ONNX or save it with unsafe_pickle=True"
            ) from exc
        _, refused = trust.refused_types(data, trusted)
        if refused:
            raise trust.refusal(refused, "would not load: it")
        return data
    if flavor is Flavor.ONNX:
        return bytes(model.SerializeToString())
    if flavor is Flavor.XGBOOST:
        return boosters.dump_xgboost(model)
    if flavor is Flavor.LIGHTGBM:
        return boosters.dump_lightgbm(model)
    return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)


def dump_model(
    model: Any,
    *,
    input_example: Any = None,
    signature: Signature | None = None,
    flavor: Flavor | str | None = None,
    unsafe_pickle: bool = False,
    trusted_types: Iterable[str] = (),
) -> SavedModel:
    """``model`` as bytes in the safest format that fits it, detected from the object
    (scikit-learn → skops, ``onnx.ModelProto`` → ONNX, XGBoost and LightGBM models and
    boosters → their own formats). A model with no safe format is saved as
    a pickle only with ``unsafe_pickle=True`` (also needed to force ``flavor="pickle"``).

    The signature is inferred by running the model on ``input_example``, or given as
    ``signature``; with neither, the model is saved without one and its input is not checked.
    ``trusted_types`` extends Relay's skops allow-list (the same list is needed to load)."""
    if input_example is not None and signature is not None:
        raise InvalidInput("give input_example or signature, not both")
    if signature is not None and not isinstance(signature, Signature):
        raise InvalidInput("signature must be a relayml Signature (Signature.from_dict reads one)")
    if not isinstance(unsafe_pickle, bool):
        raise InvalidInput(f"unsafe_pickle must be True or False, not {unsafe_pickle!r}")
    trusted = trust.check_trusted_types(trusted_types)
    detected = detect_flavor(model)
    chosen = detected
    if flavor is not None:
        asked = parse_enum(Flavor, "flavor", flavor)
        if asked is not Flavor.PICKLE and asked is not detected:
            fits = "pickle, with unsafe_pickle=True" if detected is None else detected.value
            raise InvalidInput(
                f"a {type(model).__qualname__} cannot be saved as {asked.value}; "
                f"leave flavor out and Relay picks {fits}"
            )
        chosen = asked
    if chosen is None:
        if not unsafe_pickle:
            raise Unprocessable(
                f"Relay has no safe format for a {type(model).__module__}."
                f"{type(model).__qualname__} (it saves scikit-learn models with skops, ONNX "
                "graphs, XGBoost and LightGBM models); convert it to ONNX, or pass "
                "unsafe_pickle=True to save it as a pickle that runs code when loaded"
            )
        chosen = Flavor.PICKLE
    if chosen is Flavor.PICKLE and not unsafe_pickle:
        raise Unprocessable("saving as a pickle needs unsafe_pickle=True: " + _PICKLE_REFUSED)
    if input_example is not None:
        signature = infer_signature(model, input_example)
    data = _dump(model, chosen, trusted)
    return SavedModel(
        flavor=chosen,
        data=data,
        digest=sha256_hex(data),
        signature=signature,
        environment=env.capture(chosen, model),
    )


def save_model(model: Any, path: str | Path, **options: Any) -> SavedModel:
    """``dump_model(model, **options)``, its bytes written to ``path`` all at once (a
    temporary file renamed into place, so a reader never sees half a model)."""
    target = Path(path)
    if not target.parent.is_dir():
        raise InvalidInput(f"cannot save the model to {str(target)!r}: no such folder")
    saved = dump_model(model, **options)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(saved.data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return saved


class LoadedModel:
    """A loaded model that checks its input against its signature before every prediction."""

    def __init__(
        self,
        predictor: Predictor,
        *,
        flavor: Flavor,
        digest: str,
        signature: Signature | None,
        environment_warnings: list[str],
    ) -> None:
        self._predictor = predictor
        self.flavor = flavor
        self.digest = digest
        self.signature = signature
        self.environment_warnings = environment_warnings
        """Differences from the environment the model was saved in (``environment.compare``)."""
        # predict_with_proba's shortcut: None until a first call has compared the two
        self._argmax: bool | None = None
        self._classes: Any = _argmax_classes(predictor)
        self._label_dtype: Any = None

    @property
    def model(self) -> Any:
        """The underlying object (an estimator, or an onnxruntime session)."""
        if isinstance(self._predictor, OnnxPredictor):
            return self._predictor.session
        return getattr(self._predictor, "model", None)

    @property
    def predictor(self) -> Predictor:
        """The model without the signature check, for a caller that has already checked its
        input against the signature and built the frame in its order (the model server
        checks each request as it parses it, then runs one frame for many requests)."""
        return self._predictor

    @property
    def feature_names(self) -> list[str] | None:
        """The input columns: the signature's, else those the model was fitted on, if known."""
        if self.signature is not None:
            return self.signature.names
        names = self._predictor.feature_names
        return list(names) if names is not None else None

    @property
    def has_proba(self) -> bool:
        return self._predictor.has_proba

    @property
    def classes(self) -> tuple[Any, ...] | None:
        if self.signature is not None and self.signature.output.classes is not None:
            return self.signature.output.classes
        return self._predictor.classes

    def _frame(self, data: Any) -> Any:
        if self.signature is None:
            return as_frame(data, names=self._predictor.feature_names)
        return enforce(self.signature, data)

    def predict(self, data: Any) -> np.ndarray[Any, Any]:
        """The model's predictions for ``data`` (DataFrame, pyarrow Table, dict of columns or
        2-D array), one per row; ``InvalidInput`` naming the column if it does not fit."""
        return self._predictor.predict(self._frame(data))

    def predict_proba(self, data: Any) -> np.ndarray[Any, Any]:
        """Class probabilities per row, columns in ``classes`` order (classifiers only)."""
        return self._predictor.predict_proba(self._frame(data))

    def predict_with_proba(
        self, data: Any
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any] | None]:
        """``(predict(data), predict_proba(data))``, the input checked once; the probabilities
        are None for a model that has none. The labels are always what ``predict`` gives: for a
        classifier whose final estimator predicts exactly its most probable class (logistic
        regression, trees, ... ``ARGMAX_CLASSIFIERS``) they are taken from the probabilities,
        one model call instead of two, once a first call has shown both agree on every row
        (a calibrated classifier's label need not be its most probable class)."""
        import numpy as np

        frame = self._frame(data)
        if not self.has_proba:
            return self._predictor.predict(frame), None
        proba = self._predictor.predict_proba(frame)
        if self._argmax is False or self._classes is None:
            return self._predictor.predict(frame), proba
        labels = self._classes[np.asarray(proba).argmax(axis=1)]
        if self._argmax is None:  # the first call: check, on every row of it
            given = self._predictor.predict(frame)
            self._argmax = bool(given.shape == labels.shape and np.array_equal(given, labels))
            self._label_dtype = given.dtype
            return given, proba
        return labels.astype(self._label_dtype, copy=False), proba

    def __repr__(self) -> str:
        return f"LoadedModel(flavor={self.flavor.value!r}, digest={self.digest[:12]}...)"


def _argmax_classes(predictor: Predictor) -> Any:
    """The classes, as an array, of an estimator whose predict is the arg-max of its
    predict_proba over them (None for any other model)."""
    import numpy as np

    model = getattr(predictor, "model", None)
    if not isinstance(predictor, EstimatorPredictor) or predictor.classes is None:
        return None
    if type(final_estimator(model)).__name__ not in ARGMAX_CLASSIFIERS:
        return None
    return np.asarray(getattr(model, "classes_", predictor.classes))


def _read(source: bytes | str | Path) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | Path):
        try:
            return Path(source).read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read a model file at {str(source)!r}: {exc}") from None
    raise InvalidInput(f"load a model from bytes or a path, not {type(source).__name__}")


def _predictor(data: bytes, flavor: Flavor, trusted: frozenset[str]) -> Predictor:
    if flavor is Flavor.SKLEARN:
        import skops.io

        allowed, refused = trust.refused_types(data, trusted)
        if refused:
            raise trust.refusal(refused, "file")
        try:
            model = skops.io.loads(data, trusted=allowed)
        except Exception as exc:
            raise Unprocessable(f"the skops file does not load: {exc}") from exc
        return EstimatorPredictor(model)
    if flavor is Flavor.ONNX:
        return OnnxPredictor(data)
    if flavor is Flavor.XGBOOST:
        return boosters.load_xgboost(data)
    if flavor is Flavor.LIGHTGBM:
        return boosters.load_lightgbm(data)
    try:
        model = pickle.loads(data)  # noqa: S301 - only with unsafe_pickle=True, checked above
    except Exception as exc:
        raise Unprocessable(f"the pickle does not load: {exc}") from exc
    return EstimatorPredictor(model)


def load_model(
    source: bytes | str | Path,
    *,
    flavor: Flavor | str,
    digest: str,
    signature: Signature | None = None,
    environment: Environment | None = None,
    unsafe_pickle: bool = False,
    trusted_types: Iterable[str] = (),
) -> LoadedModel:
    """The model in ``source`` (bytes or a file path), saved as ``flavor``, whose bytes must
    have the sha256 ``digest`` (``IntegrityError`` otherwise, before they are read as a model).

    A pickle loads only with ``unsafe_pickle=True``; a skops file only if every type it names
    is allowed (Relay's rule plus ``trusted_types``). With the recorded ``environment``, the
    differences that matter are in ``environment_warnings``."""
    chosen = parse_enum(Flavor, "flavor", flavor)
    check_digest(digest)
    if signature is not None and not isinstance(signature, Signature):
        raise InvalidInput("signature must be a relayml Signature (Signature.from_dict reads one)")
    if not isinstance(unsafe_pickle, bool):
        raise InvalidInput(f"unsafe_pickle must be True or False, not {unsafe_pickle!r}")
    trusted = trust.check_trusted_types(trusted_types)
    if chosen.runs_code_on_load and not unsafe_pickle:
        raise Unprocessable(_PICKLE_REFUSED)
    data = _read(source)
    actual = sha256_hex(data)
    if actual != digest:
        raise IntegrityError(
            f"the model's bytes have sha256 {actual}, not the recorded {digest}: the artifact "
            "was changed or corrupted after it was saved; it was not loaded",
            expected=digest,
            actual=actual,
        )
    predictor = _predictor(data, chosen, trusted)
    warnings = env.compare(environment, env.current(environment)) if environment else []
    return LoadedModel(
        predictor,
        flavor=chosen,
        digest=digest,
        signature=signature,
        environment_warnings=warnings,
    )
