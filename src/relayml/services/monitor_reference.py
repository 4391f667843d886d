"""A monitor's reference: the reference dataset version's stored drift summary (its input
columns), and a model version's outputs on its evaluation dataset (probabilities for
classifiers, values for regressors), calibrated on that dataset's label column: the one named
(--evaluation), else the one the version was evaluated on in its applied promotion request,
else the reference dataset itself (then calibrated only when a label column is named). Built
when the monitor is created (for the version served then) and, when the deployment serves
another version, when that version's rows first arrive (`reference_input_for`: its run's
training dataset, else the monitor's reference dataset, and its own evaluation dataset): one
per (monitor, version), stored as JSON in the artifact store and read back (and kept per
process) by processing."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from relayml.domain.models import ModelVersion
from relayml.domain.monitors import Monitor, ReferenceVersion
from relayml.domain.refs import parse_ref
from relayml.errors import InvalidInput, NotFound, RelayError, Unprocessable
from relayml.store.artifacts import ArtifactStore
from relayml.store.base import Transaction

if TYPE_CHECKING:
    from relayml.stats.monitoring import MonitorReference

REFERENCE_ROWS = 200_000  # the model runs on at most this many reference rows (a fixed sample)
_CACHE_SIZE = 32


@dataclass(frozen=True)
class ReferenceInput:
    """The reference dataset (its stored profile: the input-drift side) and the evaluation
    dataset whose rows and labels give the model's outputs (prediction baseline, calibration),
    with why it was chosen (`named`, `promotion` or `reference`: the reference dataset itself);
    `evaluation_target` is the label column the evaluation recorded, used when the monitor
    names none."""

    dataset_ref: str
    dataset_blob: str
    sketch_blob: str
    model: ModelVersion
    model_version: int
    evaluation_ref: str = ""
    evaluation_blob: str = ""
    evaluation_from: str = "reference"
    evaluation_target: str | None = None

    @property
    def outputs_ref(self) -> str:
        return self.evaluation_ref or self.dataset_ref

    @property
    def outputs_blob(self) -> str:
        return self.evaluation_blob or self.dataset_blob


def promoted_evaluation(
    tx: Transaction, project: str, version: ModelVersion
) -> tuple[str, str | None] | None:
    """The dataset version (and label column) `version` was evaluated on in its newest applied
    promotion request whose evaluation succeeded, if the registry recorded one."""
    from relayml.domain.models import Evidence, RequestState

    found = tx.models.list_requests(
        [project], [RequestState.APPLIED], model=version.name, limit=1000
    )
    for req in sorted(found, key=lambda r: r.created_at, reverse=True):
        if req.version != version.version:
            continue
        for item in req.evidence:
            if item.name is Evidence.EVALUATION and item.ok:
                cand = item.details.get("candidate") or {}
                dataset = cand.get("dataset")
                if isinstance(dataset, str) and dataset:
                    target = cand.get("target")
                    return dataset, target if isinstance(target, str) else None
    return None


def with_evaluation(
    tx: Transaction, project: str, source: ReferenceInput, named: str | None
) -> ReferenceInput:
    """`source` with its evaluation dataset: `named` if given, else the one the version was
    evaluated on when it was promoted (if recorded), else the reference dataset."""
    from dataclasses import replace

    target: str | None = None
    if named is not None:
        ref, why = parse_ref(named), "named"
    else:
        promoted = promoted_evaluation(tx, project, source.model)
        if promoted is None:
            return replace(source, evaluation_from="reference")
        ref, why, target = parse_ref(promoted[0]), "promotion", promoted[1]
    found = tx.datasets.find_version(project, ref.name, ref.version, False)
    if found is None:
        where = (
            "named with --evaluation"
            if why == "named"
            else (f"that {source.model.ref} was evaluated on when promoted")
        )
        raise NotFound(
            f"no usable version {ref} of a dataset in project {project!r} ({where}) to take "
            f"the model's outputs from; see them with: relay datasets versions {ref.name}"
        )
    ds = found[1]
    return replace(
        source,
        evaluation_ref=ds.ref,
        evaluation_blob=ds.blob,
        evaluation_from=why,
        evaluation_target=target,
    )


def _load_model(artifacts: ArtifactStore, version: ModelVersion) -> Any:
    from relayml.flavors.formats import load_model

    if version.unsafe_pickle or version.flavor.runs_code_on_load:
        raise Unprocessable(
            f"{version.ref} is a pickle: the server never loads one (it would run its code), so "
            "it cannot compute the model's outputs on the reference; register the model in a "
            "safe format (scikit-learn via skops, ONNX, XGBoost, LightGBM)"
        )
    data = b"".join(artifacts.iter_verified(version.digest))
    return load_model(
        data,
        flavor=version.flavor,
        digest=version.digest,
        signature=version.signature,
        environment=version.environment,
    )


def reference_input_for(
    tx: Transaction,
    project: str,
    version: ModelVersion,
    fallback: str,
    evaluation: str | None = None,
) -> ReferenceInput:
    """What a later version's windows are compared with: the dataset version its run used (when
    it used exactly one: the data it was trained on), else `fallback` (the monitor's reference
    dataset), and the version's outputs on its evaluation dataset (`with_evaluation`)."""
    used = tx.datasets.datasets_used_by(version.run_id) if version.run_id else []
    ref = parse_ref(used[0] if len(used) == 1 else fallback)
    found = tx.datasets.find_version(project, ref.name, ref.version, False)
    ds = found[1] if found is not None else None
    if ds is None or ds.sketch_blob is None:
        raise Unprocessable(
            f"no usable version {ref} with a stored drift summary to compare "
            f"{version.ref}'s windows with"
        )
    return with_evaluation(
        tx,
        project,
        ReferenceInput(ds.ref, ds.blob, ds.sketch_blob, version, version.version),
        evaluation,
    )


def build_reference(
    artifacts: ArtifactStore,
    source: ReferenceInput,
    target: str | None,
    *,
    require_target: bool = True,
) -> bytes:
    """The reference's JSON: what every window of the monitor is compared with. Without
    `require_target`, a dataset without the `target` column gives a reference without labels."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from relayml.stats.monitoring import MonitorReference
    from relayml.stats.sketch import TableSketch

    model = _load_model(artifacts, source.model)
    features = model.feature_names
    if not features:
        raise Unprocessable(
            f"{source.model.ref} records no input columns (no signature); register it with an "
            "input example so its inputs can be monitored"
        )
    sketch = TableSketch.from_dict(
        json.loads(b"".join(artifacts.iter_verified(source.sketch_blob)))
    )
    known = [*sketch.columns, *sketch.skipped]
    missing = [c for c in features if c not in known]
    if missing:
        raise InvalidInput(
            f"reference {source.dataset_ref} has no column {missing[0]!r} that "
            f"{source.model.ref} takes; name a dataset with the model's inputs (--reference)"
        )
    keep = [c for c in features if c in sketch.columns]
    inputs = TableSketch(
        {c: sketch.kinds[c] for c in keep},
        {c: sketch.columns[c] for c in keep},
        sketch.n_rows,
        {c: why for c, why in sketch.skipped.items() if c in features},
        [c for c in sketch.id_like if c in keep],
    )
    table = pq.read_table(pa.BufferReader(b"".join(artifacts.iter_verified(source.outputs_blob))))
    if source.evaluation_from != "reference":
        # a separate evaluation dataset exists for its rows and labels: both are required
        what = f"evaluation dataset {source.evaluation_ref} ({source.evaluation_from})"
        target = target if target is not None else source.evaluation_target
        if target is None:
            raise InvalidInput(
                f"the {what} gives the model's outputs and their calibration, which need its "
                "label column: name it with --target COLUMN"
            )
        absent = [c for c in features if c not in table.column_names]
        if absent:
            raise InvalidInput(
                f"{what} has no column {absent[0]!r} that {source.model.ref} takes; name a "
                "dataset with the model's inputs (--evaluation)"
            )
        if target not in table.column_names:
            raise InvalidInput(
                f"{what} has no column {target!r} to take labels from; it has "
                f"{', '.join(table.column_names[:12])}"
            )
    if target is not None and target not in table.column_names and not require_target:
        target = None
    if target is not None and target not in table.column_names:
        raise InvalidInput(
            f"reference {source.dataset_ref} has no column {target!r} to take labels from; it "
            f"has {', '.join(table.column_names[:12])}"
        )
    if table.num_rows > REFERENCE_ROWS:
        picked = np.sort(np.random.default_rng(0).choice(table.num_rows, REFERENCE_ROWS, False))
        table = table.take(pa.array(picked))
    frame = table.select(features).to_pandas()
    labels = table.column(target).to_numpy(zero_copy_only=False) if target else None
    if model.has_proba and model.classes is not None:
        predictions, proba = model.predict_with_proba(frame)
        classes = list(model.classes)
        reference = MonitorReference.build(
            inputs,
            task="binary" if len(classes) == 2 else "multiclass",
            classes=classes,
            predictions=predictions,
            probabilities=np.asarray(proba, dtype=np.float64),
            labels=labels,
        )
    else:
        values = np.asarray(model.predict(frame))
        if values.dtype.kind not in "fiub":
            raise Unprocessable(
                f"{source.model.ref} answers labels without probabilities; a monitor needs a "
                "classifier's probabilities (predict_proba) or a regressor's numbers"
            )
        reference = MonitorReference.build(
            inputs,
            task="regression",
            predictions=values.astype(np.float64),
            labels=labels,
            features=table.select(features),  # with labels: the label-free estimate's fit
        )
    return json.dumps(reference.to_dict(), separators=(",", ":")).encode()


class ReferenceCache:
    """References by digest, read and parsed once per process (they never change)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: OrderedDict[str, MonitorReference] = OrderedDict()

    def get(self, artifacts: ArtifactStore, digest: str) -> MonitorReference:
        from relayml.stats.monitoring import MonitorReference

        with self._lock:
            found = self._found.get(digest)
            if found is not None:
                self._found.move_to_end(digest)
                return found
        doc = json.loads(b"".join(artifacts.iter_verified(digest)))
        ref = MonitorReference.from_dict(doc)
        with self._lock:
            self._found[digest] = ref
            while len(self._found) > _CACHE_SIZE:
                self._found.popitem(last=False)
        return ref


class PassReferences:
    """The references one processing pass compares with, by model version: those the monitor
    has, and those built in this pass for a version whose rows arrive for the first time (each
    once; `built` lists them for the pass's commit). A version whose reference cannot be built
    is refused as InvalidInput saying why, once per pass, so its segments are passed over."""

    def __init__(
        self,
        artifacts: ArtifactStore,
        cache: ReferenceCache,
        monitor: Monitor,
        known: dict[int, ReferenceVersion],
        source: Callable[[int], ReferenceInput],
    ) -> None:
        self.artifacts, self.cache, self.monitor = artifacts, cache, monitor
        self.known = dict(known)
        self.source = source
        self.built: list[ReferenceVersion] = []
        self.failed: dict[int, str] = {}

    def version(self, version: int | None) -> int | None:
        """The version a row or window without one stands for: the monitor's first."""
        return version if version is not None else self.monitor.model_version

    def get(self, version: int | None) -> MonitorReference:
        v = self.version(version)
        mon = self.monitor
        if v is None or (v == mon.model_version and v not in self.known):
            assert mon.reference_digest is not None
            return self.cache.get(self.artifacts, mon.reference_digest)
        found = self.known.get(v)
        if found is None:
            found = self._build(v)
        return self.cache.get(self.artifacts, found.digest)

    def _build(self, version: int) -> ReferenceVersion:
        from datetime import UTC, datetime

        mon = self.monitor
        if version in self.failed:
            raise InvalidInput(self.failed[version])
        try:
            source = self.source(version)
            data = build_reference(self.artifacts, source, mon.config.target, require_target=False)
        except RelayError as exc:
            self.failed[version] = (
                f"no reference for {mon.model}@{version}, whose rows these are: {exc.message}"
            )
            raise InvalidInput(self.failed[version]) from None
        digest, _ = self.artifacts.put_chunks([data])
        made = ReferenceVersion(
            version,
            source.dataset_ref,
            digest,
            datetime.now(UTC),
            source.evaluation_ref or None,
            source.evaluation_from,
        )
        self.known[version] = made
        self.built.append(made)
        return made
