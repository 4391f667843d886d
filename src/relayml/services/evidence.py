"""What a promotion request carries: the candidate (and the current holder) loaded here and
evaluated on one dataset version, the run's data checked, the stakeholders' requirements, the
policy's minimum improvement and the model card, each an `EvidenceItem`."""

from __future__ import annotations

from typing import Any

from relayml.domain.audit import EntityKind
from relayml.domain.datasets import DatasetStatus
from relayml.domain.identity import Principal
from relayml.domain.models import (
    MODEL_CARD_FIELDS,
    Evidence,
    EvidenceItem,
    ModelCard,
    ModelVersion,
    Requirement,
    check_text,
)
from relayml.domain.policy import AliasRule, Policy
from relayml.domain.refs import parse_ref
from relayml.domain.roles import Action
from relayml.errors import (
    InvalidInput,
    NotFound,
    RelayError,
    Unprocessable,
)
from relayml.services.registry import RegistryBase
from relayml.store.base import Transaction


class EvidenceMixin(RegistryBase):
    # evaluation --------------------------------------------------------------------------
    def evaluate(
        self,
        who: Principal,
        project: str,
        ref: str,
        dataset: str,
        target: str,
        slices: list[str] | None = None,
    ) -> dict[str, Any]:
        """The version's metrics on a dataset version (`holdout@2`), overall and per slice of
        each column in `slices`. Runs the model here: a pickled version is never loaded by the
        server (use a safe format)."""
        check_text("target", target, 256)
        slices = list(slices or [])
        with self.read() as tx:
            self.require_in_project(tx, who, Action.MODEL_EVALUATE, project, EntityKind.MODEL, ref)
            self.require(tx, who, Action.DATASET_READ, project, EntityKind.DATASET, dataset)
            _, version = self._find(tx, project, ref)
            blob = self._dataset_blob(tx, project, dataset)
        return self._evaluate(version, blob, target, slices)

    def _dataset_blob(self, tx: Transaction, project: str, ref: str) -> tuple[str, str]:
        r = parse_ref(ref)
        found = tx.datasets.find_version(project, r.name, r.version, False)
        if found is None:
            raise NotFound(
                f"no usable version {ref!r} of a dataset in project {project!r} to evaluate on; "
                f"see them with: relay datasets versions {r.name}"
            )
        return found[1].ref, found[1].blob

    def _load(self, version: ModelVersion) -> Any:
        from relayml.flavors.formats import load_model

        if version.unsafe_pickle:
            raise Unprocessable(
                f"{version.ref} is a pickle: the server never loads one (it would run its code); "
                "register the model in a safe format (scikit-learn via skops, ONNX, XGBoost, "
                "LightGBM)"
            )
        data = b"".join(self.artifacts.iter_verified(version.digest))
        return load_model(
            data,
            flavor=version.flavor,
            digest=version.digest,
            signature=version.signature,
            environment=version.environment,
        )

    def _evaluate(
        self, version: ModelVersion, dataset: tuple[str, str], target: str, slices: list[str]
    ) -> dict[str, Any]:
        return self._score(version, self._frame(dataset, target, slices), target, slices)

    def _frame(self, dataset: tuple[str, str], target: str, slices: list[str]) -> tuple[str, Any]:
        """The dataset version as a pandas frame (read and verified once, however many models
        are evaluated on it), with the target and slice columns checked present."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        ref, blob = dataset
        table = pq.read_table(pa.BufferReader(b"".join(self.artifacts.iter_verified(blob))))
        missing = [c for c in [target, *slices] if c not in table.column_names]
        if missing:
            raise InvalidInput(
                f"dataset {ref} has no column {missing[0]!r}; it has "
                + ", ".join(table.column_names[:12])
                + (
                    f" and {len(table.column_names) - 12} more"
                    if len(table.column_names) > 12
                    else ""
                )
            )
        return ref, table.to_pandas()

    def _score(
        self,
        version: ModelVersion,
        data: tuple[str, Any],
        target: str,
        slices: list[str],
        model: Any = None,
    ) -> dict[str, Any]:
        """The version's metrics on `data`; `model` is the version already loaded, if it is."""
        from relayml.stats.evaluation import evaluate_classifier, evaluate_regressor

        model = model if model is not None else self._load(version)
        ref, frame = data
        truth = frame[target].to_numpy()
        columns = model.feature_names or [c for c in frame.columns if c != target]
        features = frame[[c for c in columns if c in frame.columns]]
        groups = {c: frame[c].to_numpy() for c in slices}
        if model.has_proba and model.classes is not None:
            result = evaluate_classifier(
                truth, model.predict_proba(features), classes=list(model.classes), slices=groups
            )
        else:
            result = evaluate_regressor(truth, model.predict(features), slices=groups)
        doc = result.to_dict()
        doc["dataset"] = ref
        doc["target"] = target
        doc["model"] = version.ref
        return doc

    def _data_checks(
        self, tx: Transaction, project: str, version: ModelVersion
    ) -> tuple[bool, str, dict[str, Any]]:
        if version.run_id is None:
            return False, "no run recorded with the version: its training data is unknown", {}
        refs = tx.datasets.datasets_used_by(version.run_id)
        if not refs:
            return False, f"run {version.run_id} recorded no dataset it used", {}
        bad, seen = [], {}
        for ref in refs:
            r = parse_ref(ref)
            found = tx.datasets.find_version(project, r.name, r.version, True)
            status = found[1].status.value if found else "missing"
            seen[ref] = status
            if found is None or found[1].status is DatasetStatus.QUARANTINED:
                bad.append(ref)
        if bad:
            return False, f"the run used data that is not valid: {', '.join(bad)}", seen
        return True, f"every dataset the run used is valid or released: {', '.join(refs)}", seen

    def _evidence(
        self,
        rule: AliasRule,
        policy: Policy,
        version: ModelVersion,
        holder: ModelVersion | None,
        requirements: list[Requirement],
        card: ModelCard,
        data_checks: tuple[bool, str, dict[str, Any]],
        evaluation_on: tuple[str, str, list[str]] | None,
        blob: tuple[str, str] | None,
    ) -> list[EvidenceItem]:
        from relayml.stats.evaluation import HIGHER_IS_BETTER

        required = set(rule.evidence)
        items: list[EvidenceItem] = []

        def add(
            name: Evidence, ok: bool, summary: str, details: dict[str, Any] | None = None
        ) -> None:
            items.append(EvidenceItem(name, ok, name in required, summary, details or {}))

        loaded: Any = None
        try:
            loaded = self._load(version)
            warnings = list(loaded.environment_warnings)
            add(
                Evidence.LOAD_CHECK,
                True,
                f"{version.ref} verifies (sha256 {version.digest[:12]}) and loads here as "
                f"{version.flavor.value}",
                {"warnings": warnings},
            )
        except RelayError as exc:
            add(Evidence.LOAD_CHECK, False, f"{version.ref} does not load here: {exc.message}")
        ok, summary, details = data_checks
        add(Evidence.DATA_CHECKS, ok, summary, {"datasets": details})
        candidate: dict[str, Any] | None = None
        current: dict[str, Any] | None = None
        if evaluation_on is None or blob is None:
            add(
                Evidence.EVALUATION,
                False,
                "no evaluation dataset: set evaluation in the policy, or pass --eval DATASET "
                "--target COLUMN",
            )
        else:
            ds, target, slices = evaluation_on
            try:
                frame = self._frame(blob, target, slices)
                candidate = self._score(version, frame, target, slices, loaded)
                if holder is not None:
                    try:
                        current = self._score(holder, frame, target, slices)
                    except RelayError as exc:
                        current = {"error": exc.message}
                add(
                    Evidence.EVALUATION,
                    True,
                    f"evaluated on {blob[0]} ({candidate['rows']} rows, target {target})",
                    {"candidate": candidate, "holder": current},
                )
            except RelayError as exc:
                add(Evidence.EVALUATION, False, f"evaluation on {ds} failed: {exc.message}")
        metrics = dict(candidate["metrics"]) if candidate else {}
        if not requirements:
            add(Evidence.REQUIREMENTS, True, "no stakeholder requirements are set on this model")
        else:
            results = [
                (req, *req.check(_as_float(metrics.get(req.metric)))) for req in requirements
            ]
            failed = [msg for _, good, msg in results if not good]
            add(
                Evidence.REQUIREMENTS,
                not failed,
                "; ".join(failed) if failed else "; ".join(msg for _, _, msg in results),
                {
                    "requirements": [
                        {
                            "metric": q.metric,
                            "min": q.min,
                            "max": q.max,
                            "ok": g,
                            "set_by": q.set_by,
                        }
                        for q, g, _ in results
                    ]
                },
            )
        if rule.min_improvement is not None:
            mi = rule.min_improvement
            new = _as_float(metrics.get(mi.metric))
            old = (
                _as_float(current["metrics"].get(mi.metric))
                if current and "metrics" in current
                else None
            )
            if holder is None:
                add(
                    Evidence.IMPROVEMENT,
                    True,
                    "nothing holds the alias yet: there is no model to improve on",
                )
            elif new is None or old is None:
                add(
                    Evidence.IMPROVEMENT,
                    False,
                    f"{mi.metric} could not be compared with {holder.ref}",
                )
            else:
                higher = HIGHER_IS_BETTER.get(mi.metric, True)
                gain = (new - old) if higher else (old - new)
                add(
                    Evidence.IMPROVEMENT,
                    gain >= mi.by,
                    f"{mi.metric} {new:.4g} vs {old:.4g} for {holder.ref}: "
                    f"{'+' if gain >= 0 else ''}{gain:.4g} (needs {mi.by:+g})",
                    {"metric": mi.metric, "candidate": new, "holder": old},
                )
        if Evidence.MODEL_CARD in required or policy.model_card:
            missing = card.missing(policy.model_card or MODEL_CARD_FIELDS)
            add(
                Evidence.MODEL_CARD,
                not missing,
                f"the model card misses {missing}" if missing else "the model card is filled",
                {"revision": card.revision},
            )
        return items


def _as_float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
