"""One arm of a deployment as the server runs it: a model version loaded the registry's safe
way (its sha256 checked against the registry's before it is read, pickles only where the
deployment allows them), its signature prepared for request parsing, and the one call that
turns a batch of checked rows into predictions.

A classifier is asked for its probabilities once per batch; its label is the most probable
class when the final estimator is one whose ``predict`` is exactly that (logistic regression,
trees and their ensembles, naive Bayes, nearest neighbours, XGBoost, LightGBM ...) and the
warm-up rows agree; otherwise ``predict`` runs as well. So the answer is always what
``model.predict`` gives, and a batch costs one model call where it can.
"""

from __future__ import annotations

import logging
import math
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from relayml.domain.deployments import ServedArm
from relayml.domain.models import ColumnType, Signature
from relayml.errors import IntegrityError, RelayError, Unprocessable, UserCodeError
from relayml.flavors.adapters import ARGMAX_CLASSIFIERS, final_estimator
from relayml.serving.inputs import Parsed, Schema, bad

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from relayml.client.base import Backend
    from relayml.domain.models import ModelVersion
    from relayml.flavors.formats import LoadedModel
    from relayml.flavors.golden import Golden

log = logging.getLogger("relayml.serving")


@dataclass(frozen=True)
class Answer:
    """A request's predictions: one label (or value) per row, and the class probabilities per
    row for a classifier that has them."""

    predictions: list[Any]
    probabilities: np.ndarray[Any, Any] | None  # rows x classes


class Runner:
    """A loaded model and its signature, ready for batches of checked rows."""

    def __init__(
        self,
        arm: ServedArm,
        model: LoadedModel,
        sticky_key: str | None,
        *,
        array_input: bool = False,
    ) -> None:
        if model.signature is None:
            raise Unprocessable(
                f"{arm.model}@{arm.version} has no signature, so the server cannot check its "
                "input; register it with an input example (relay.models.register(..., "
                "input_example=X[:5]))"
            )
        self.arm = arm
        self.model = model
        self.signature: Signature = model.signature
        self.schema = Schema(model.signature, sticky_key)
        self._predictor = model.predictor
        classes = model.classes
        self.classes: list[Any] | None = None if classes is None else _plain(list(classes))
        self.proba = bool(model.has_proba and classes is not None)
        final = type(final_estimator(model.model)).__name__
        self.label_from_proba = self.proba and final in ARGMAX_CLASSIFIERS
        nullable = any(c.nullable for c in self.signature.inputs)
        # the array path: an estimator (not a booster's own format, not ONNX) taking numbers
        # only; JSON carries no NaN or infinity, so without nullable columns every value is
        # finite and the estimator's own finiteness check can be skipped
        self._array_candidate = (
            array_input
            and model.flavor.value in ("sklearn", "pickle")
            and all(
                t is ColumnType.FLOAT or (t is ColumnType.INTEGER and not c.nullable)
                for t, c in zip(self.schema.types, self.signature.inputs, strict=True)
            )
        )
        self._assume_finite = not nullable
        self.array_input = False

    # --- frames -------------------------------------------------------------------------------

    def frame(self, rows: list[tuple[Any, ...]]) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        names = list(self.schema.names)
        if self.schema.all_float:
            array = np.array(rows, dtype=np.float64)
            return pd.DataFrame(array, columns=names, copy=False)
        columns: dict[str, Any] = {}
        for i, (name, kind) in enumerate(zip(names, self.schema.types, strict=True)):
            values = [r[i] for r in rows]
            columns[name] = _column(kind, values)
        return pd.DataFrame(columns, copy=False)

    def _frame_of(self, p: Parsed) -> pd.DataFrame:
        if p.frame is not None:
            return p.frame
        if p.array is not None:
            import pandas as pd

            return pd.DataFrame(p.array, columns=list(self.schema.names), copy=False)
        return self.frame(p.rows or [])

    def batch_frame(self, items: list[Parsed]) -> pd.DataFrame:
        if len(items) == 1:
            return self._frame_of(items[0])
        if all(p.rows is not None for p in items):
            return self.frame(_rows(items))
        import pandas as pd

        return pd.concat([self._frame_of(p) for p in items], ignore_index=True)

    # --- predicting ---------------------------------------------------------------------------

    def predict_frame(self, frame: pd.DataFrame) -> tuple[list[Any], np.ndarray[Any, Any] | None]:
        """Labels (or values) as plain Python, and probabilities when the model has them."""
        predictor = self._predictor
        return self._outputs(predictor.predict, predictor.predict_proba, frame)

    def _outputs(
        self, predict: Any, predict_proba: Any, data: Any
    ) -> tuple[list[Any], np.ndarray[Any, Any] | None]:
        import numpy as np

        if self.proba:
            # C order: a request's rows are then a contiguous slice, written as it is
            proba = np.ascontiguousarray(predict_proba(data), dtype=np.float64)
            if self.label_from_proba and self.classes is not None:
                labels = np.asarray(self.classes, dtype=object)[proba.argmax(axis=1)].tolist()
            else:
                labels = _plain(np.asarray(predict(data)).tolist())
            return labels, proba
        return _plain(np.asarray(predict(data)).tolist()), None

    def predict_array(
        self, array: np.ndarray[Any, Any]
    ) -> tuple[list[Any], np.ndarray[Any, Any] | None]:
        """The array path: numbers straight to the estimator in the signature's column order
        (the order it was fitted in), skipping its DataFrame checks; taken only when the
        warm-up showed it gives what the DataFrame path gives."""
        est = self.model.model
        try:
            if self._assume_finite:
                import sklearn

                with sklearn.config_context(assume_finite=True):
                    return self._outputs(est.predict, getattr(est, "predict_proba", None), array)
            return self._outputs(est.predict, getattr(est, "predict_proba", None), array)
        except Exception as exc:
            raise UserCodeError(
                f"the model's predict raised {type(exc).__name__}: {exc}",
                user_traceback=traceback.format_exc(),
            ) from exc

    def predict_rows(self, items: list[Parsed]) -> tuple[list[Any], np.ndarray[Any, Any] | None]:
        if self.array_input and all(p.frame is None for p in items):
            import numpy as np

            if all(p.rows is not None for p in items):
                return self.predict_array(np.array(_rows(items), dtype=np.float64))
            arrays = [
                p.array if p.array is not None else np.array(p.rows, dtype=np.float64)
                for p in items
            ]
            return self.predict_array(arrays[0] if len(arrays) == 1 else np.concatenate(arrays))
        return self.predict_frame(self.batch_frame(items))

    def run(self, items: list[Parsed]) -> list[Answer]:
        """One model call for every request in ``items``; one Answer each, in order."""
        try:
            labels, proba = self.predict_rows(items)
        except UserCodeError as exc:
            # the input passed the signature but the model refused it (an unseen category,
            # a value out of its range): the request's fault, said as a 422
            raise bad(
                f"the model could not predict on this input: {exc.message}", problem="model"
            ) from exc
        if len(items) == 1:
            return [Answer(labels, proba)]
        out = []
        start = 0
        for p in items:
            end = start + p.size
            out.append(Answer(labels[start:end], None if proba is None else proba[start:end]))
            start = end
        return out

    def warm_up(self, golden: Golden | None = None) -> None:
        """Run the model on the version's golden rows (else on rows built from the signature),
        so the first request pays no first-call cost; check there that labels from
        probabilities match predict, and whether the array path gives what the DataFrame path
        gives. Outputs on golden rows that differ from those recorded at registration are
        logged (`relay deployments verify` is the check that says so to a person)."""
        if golden is not None:
            frame = golden.inputs
        else:
            row = tuple(_example(c.type) for c in self.signature.inputs)
            frame = self.frame([row, row])
        try:
            labels, proba = self.predict_frame(frame)
            if self.label_from_proba:
                direct = _plain(self._predictor.predict(frame).tolist())
                if direct != labels:
                    self.label_from_proba = False
        except Exception as exc:  # an invented row may be refused; that is not a failed load
            self.label_from_proba = False
            log.warning(
                "warm-up of %s@%s on a row built from its signature failed (%s); it will be "
                "called directly on its first request",
                self.arm.model,
                self.arm.version,
                exc,
            )
            return
        if golden is not None:
            self._compare(golden, labels, proba)
        if self._array_candidate:
            self.array_input = self._same_by_array(frame, labels, proba)

    def _compare(self, golden: Golden, labels: list[Any], proba: Any) -> None:
        from relayml.flavors.golden import differences

        found = differences(golden, labels, proba, self.classes)
        if found:
            first = found[0]
            log.warning(
                "%s@%s gives %d output(s) on its golden set that differ from those recorded "
                "at registration (first: %s, %s: recorded %r, here %r)",
                self.arm.model,
                self.arm.version,
                len(found),
                first.where,
                first.output,
                first.recorded,
                first.served,
            )

    def _same_by_array(
        self, frame: pd.DataFrame, labels: list[Any], proba: np.ndarray[Any, Any] | None
    ) -> bool:
        import numpy as np

        try:
            got, got_proba = self.predict_array(frame.to_numpy(dtype=np.float64))
        except Exception:
            return False
        if got != labels:
            return False
        if proba is None or got_proba is None:
            return proba is None and got_proba is None
        return bool(np.allclose(proba, got_proba, rtol=0, atol=1e-12))


def _rows(items: list[Parsed]) -> list[tuple[Any, ...]]:
    if len(items) == 1:
        return items[0].rows or []
    rows: list[tuple[Any, ...]] = []
    for p in items:
        rows.extend(p.rows or [])
    return rows


def _plain(values: list[Any]) -> list[Any]:
    """NumPy scalars (from tolist of an object array) as Python values orjson writes."""
    if values and type(values[0]).__module__ == "numpy":
        return [v.item() for v in values]
    return values


def _example(kind: ColumnType) -> Any:
    if kind is ColumnType.FLOAT:
        return 0.0
    if kind is ColumnType.INTEGER:
        return 0
    if kind is ColumnType.BOOLEAN:
        return False
    if kind is ColumnType.DATETIME:
        return datetime(2000, 1, 1, tzinfo=UTC)
    return ""


def _column(kind: ColumnType, values: list[Any]) -> Any:
    import numpy as np
    import pandas as pd

    if kind is ColumnType.FLOAT:
        return np.array(values, dtype=np.float64)
    if kind is ColumnType.INTEGER:
        if any(v is None for v in values):
            return np.array([math.nan if v is None else v for v in values], dtype=np.float64)
        return np.array(values, dtype=np.int64)
    if kind is ColumnType.BOOLEAN:
        if any(v is None for v in values):
            return pd.array(values, dtype="boolean").astype(object)
        return np.array(values, dtype=np.bool_)
    if kind is ColumnType.DATETIME:
        return pd.to_datetime(values, utc=True)
    return pd.Series(values)


def load_runner(
    backend: Backend,
    project: str,
    arm: ServedArm,
    *,
    unsafe_pickle: bool,
    sticky_key: str | None,
    array_input: bool = False,
) -> Runner:
    """Download, verify and load the version behind ``arm``, then warm it up. The artifact's
    sha256 must be the one the resolution named and the registry recorded."""
    from relayml.flavors.formats import load_model
    from relayml.scratch import scratch_dir

    version = backend.models.get(project, f"{arm.model}@{arm.version}")
    if version.digest != arm.digest:
        raise IntegrityError(
            f"{version.ref} has digest {version.digest} in the registry but the deployment "
            f"resolved it as {arm.digest}; not serving it",
            expected=arm.digest,
            actual=version.digest,
        )
    if version.unsafe_pickle and not unsafe_pickle:
        raise Unprocessable(
            f"{version.ref} is a pickle, and the deployment does not allow pickles: loading one "
            "runs its code; re-create the deployment with unsafe_pickle if you trust its author"
        )
    with scratch_dir("serve") as tmp:
        path = backend.models.download(project, version.ref, tmp / "model.bin")
        model = load_model(
            path,
            flavor=version.flavor,
            digest=arm.digest,
            signature=version.signature,
            environment=version.environment,
            unsafe_pickle=unsafe_pickle,
        )
        golden = _golden(backend, project, version, tmp)
    for warning in model.environment_warnings:
        log.warning("%s: %s", version.ref, warning)
    runner = Runner(arm, model, sticky_key, array_input=array_input)
    runner.warm_up(golden)
    return runner


def _golden(backend: Backend, project: str, version: ModelVersion, tmp: Path) -> Golden | None:
    """The version's golden set to warm up with, if it has one that reads; a golden set that
    cannot be had is not a failed load (the signature's rows do instead)."""
    if version.golden is None:
        return None
    from relayml.flavors.golden import read_golden

    try:
        path = backend.models.download_golden(project, version.ref, tmp / "golden.parquet")
        return read_golden(path.read_bytes(), version.signature)
    except RelayError as exc:
        log.warning("%s: its golden set is not used for the warm-up: %s", version.ref, exc)
        return None
