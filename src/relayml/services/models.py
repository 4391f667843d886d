"""The model registry: register and load versions, move aliases, and promote by request.

A protected alias (the project's policy says which; `production` and `champion` by default)
moves only when a promotion request is approved: the request carries its evidence, computed
when it opens (the artifact loads here, the run's data was valid, the evaluation meets the
stakeholders' requirements and the policy's minimum improvement), and the approval that
completes it moves the alias in the same transaction as the approval's audit event. Separation
of duties is checked on every approval: the requester may not approve, nor may the author of
the model's run. Every move of every alias is kept (`history`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from relayml.domain.artifacts import check_digest
from relayml.domain.audit import EntityKind, Event
from relayml.domain.datasets import DatasetStatus
from relayml.domain.enums import parse_enum
from relayml.domain.identity import Principal, Role, check_name
from relayml.domain.models import (
    MODEL_CARD_FIELDS,
    AliasMove,
    Environment,
    Evidence,
    EvidenceItem,
    Flavor,
    InboxItem,
    ModelCard,
    ModelInfo,
    ModelVersion,
    PromotionRequest,
    RequestState,
    Requirement,
    Review,
    ReviewKind,
    Signature,
    VersionStatus,
    check_tags,
    check_text,
)
from relayml.domain.notifications import model_request_event
from relayml.domain.policy import DEFAULT, AliasRule, Policy, parse_policy
from relayml.domain.refs import Ref, parse_ref
from relayml.domain.roles import PERMISSIONS, Action
from relayml.domain.tracking import check_run_id
from relayml.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RelayError,
    Unprocessable,
)
from relayml.services.base import ServiceBase, utcnow
from relayml.services.denials import DenialLimiter
from relayml.services.notifications import NotificationService, Pending
from relayml.store.artifacts import ArtifactStore
from relayml.store.base import MetadataStore, Transaction

MAX_REQUESTS = 1000
_RELEASERS = PERMISSIONS[Action.DATASET_RELEASE]


def model_ref(ref: object) -> Ref:
    return parse_ref(ref, kind="model", aliases=True)


def _number(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise InvalidInput(f"{what} must be a number, not {value!r}")
    return float(value)


class ModelService(ServiceBase):
    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        notifications: NotificationService | None = None,
        *,
        denials: DenialLimiter | None = None,
    ) -> None:
        super().__init__(store, artifacts, denials)
        self.notifications = notifications or NotificationService(store, artifacts)

    # helpers -----------------------------------------------------------------------------
    def _model(self, tx: Transaction, project: str, name: str) -> int:
        mid = tx.models.model_id(project, check_name("model", name))
        if mid is None:
            raise NotFound(
                f"no model {name!r} in project {project!r}; list them with: "
                f"relay models ls -p {project}"
            )
        return mid

    def _find(self, tx: Transaction, project: str, ref: str) -> tuple[int, ModelVersion]:
        r = model_ref(ref)
        self._model(tx, project, r.name)
        found = tx.models.find_version(project, r.name, r.version, r.alias)
        if found is None:
            if r.alias is not None:
                raise NotFound(
                    f"no version of {r.name!r} holds alias {r.alias!r}; see its aliases with: "
                    f"relay models show {r.name}"
                )
            if r.version is None:
                raise NotFound(f"model {r.name!r} has no version that is not archived")
            raise NotFound(
                f"model {r.name!r} has no version {r.version}; see them with: "
                f"relay models versions {r.name}"
            )
        return found

    def _policy(self, tx: Transaction, project: str) -> Policy:
        found = tx.models.policy(project)
        if found is None:
            return DEFAULT
        version, text, _, _ = found
        return parse_policy(text, version)

    def _send(self, pending: list[Pending]) -> None:
        self.notifications.send(pending)

    # registering and reading -------------------------------------------------------------
    def upload(
        self,
        who: Principal,
        project: str,
        chunks: Iterable[bytes],
        expected_digest: str | None = None,
    ) -> tuple[str, int]:
        """Store a model artifact's bytes for a later `register`; returns (sha256, size)."""
        if expected_digest is not None:
            check_digest(expected_digest)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.MODEL_REGISTER, project, EntityKind.PROJECT, project
            )
        return self.store_upload(who, project, chunks, expected_digest)

    def register(
        self,
        who: Principal,
        project: str,
        name: str,
        blob: str,
        *,
        flavor: str,
        environment: dict[str, Any],
        signature: dict[str, Any] | None = None,
        run_id: str | None = None,
        unsafe_pickle: bool = False,
        description: str = "",
        tags: dict[str, str] | None = None,
    ) -> ModelVersion:
        """Register the uploaded artifact `blob` as `name`'s next version. A scikit-learn
        (skops) artifact naming a type outside Relay's allow-list is refused here, before
        anything reads it as a model; a pickle needs `unsafe_pickle=True`, kept on the version.
        The same bytes registered again to the same model are the existing version."""
        check_name("model", name)
        check_digest(blob)
        chosen = parse_enum(Flavor, "flavor", flavor)
        if not isinstance(unsafe_pickle, bool):
            raise InvalidInput(f"unsafe_pickle must be true or false, not {unsafe_pickle!r}")
        if chosen.runs_code_on_load and not unsafe_pickle:
            raise Unprocessable(
                "a pickled model runs code when it is loaded; register it only if you trust "
                "whoever made it, with unsafe_pickle=True (--unsafe-pickle)"
            )
        env = Environment.from_dict(environment)
        sig = Signature.from_dict(signature) if signature is not None else None
        if run_id is not None:
            check_run_id(run_id)
        description = check_text("description", description)
        tags = check_tags(tags or {})
        with self.read() as tx:
            roles = self.require_in_project(
                tx, who, Action.MODEL_REGISTER, project, EntityKind.MODEL, name
            )
            self.require_blob(tx, project, blob, "model artifact")
        if chosen is Flavor.SKLEARN:
            self._check_skops(blob)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.MODEL_REGISTER, project, EntityKind.MODEL, name
            )
            if run_id is not None and tx.tracking.run_project(run_id) != project:
                raise NotFound(f"no run {run_id} in project {project!r}")
            mid = tx.models.ensure_model(project, name, "", who.user, utcnow())
            existing = tx.models.version_with_digest(mid, blob)
            if existing is not None:
                return existing
            mv = ModelVersion(
                project=project,
                name=name,
                version=tx.models.next_version(mid),
                digest=blob,
                size=self.artifacts.size(blob),
                flavor=chosen,
                signature=sig,
                environment=env,
                run_id=run_id,
                unsafe_pickle=unsafe_pickle,
                status=VersionStatus.READY,
                description=description,
                tags=tags,
                created_at=utcnow(),
                created_by=who.user,
            )
            tx.models.insert_version(mid, mv)
            payload = {
                "digest": blob,
                "flavor": chosen.value,
                "run": run_id,
                "unsafe_pickle": unsafe_pickle,
            }
            self.record(
                tx, who, roles, Action.MODEL_REGISTER, project, EntityKind.MODEL, mv.ref, payload
            )
            return mv

    def _check_skops(self, blob: str) -> None:
        from relayml.flavors import trust

        data = b"".join(self.artifacts.iter_verified(blob))
        _, refused = trust.refused_types(data, frozenset())
        if refused:
            raise trust.refusal(refused, "registering")

    def get(self, who: Principal, project: str, ref: str) -> ModelVersion:
        with self.read() as tx:
            self.require_in_project(tx, who, Action.MODEL_READ, project, EntityKind.MODEL, ref)
            return self._find(tx, project, ref)[1]

    def download(
        self, who: Principal, project: str, ref: str
    ) -> tuple[ModelVersion, Iterator[bytes]]:
        """The version and its artifact's bytes, verified against their sha256 as they stream."""
        version = self.get(who, project, ref)
        return version, self.artifacts.iter_verified(version.digest)

    def list_models(self, who: Principal, project: str) -> list[ModelInfo]:
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.MODEL_READ, project, EntityKind.PROJECT, project
            )
            return tx.models.list_models(project)

    def versions(self, who: Principal, project: str, name: str) -> list[ModelVersion]:
        with self.read() as tx:
            self.require_in_project(tx, who, Action.MODEL_READ, project, EntityKind.MODEL, name)
            self._model(tx, project, name)
            return tx.models.versions(project, name)

    def history(
        self, who: Principal, project: str, name: str, alias: str | None = None
    ) -> list[AliasMove]:
        """Every move of the model's aliases, newest first: who, when, why, through which
        request."""
        with self.read() as tx:
            self.require_in_project(tx, who, Action.MODEL_READ, project, EntityKind.MODEL, name)
            self._model(tx, project, name)
            return tx.models.alias_history(project, name, alias)

    # aliases, tags, archiving ------------------------------------------------------------
    def set_alias(
        self, who: Principal, project: str, ref: str, alias: str, reason: str = ""
    ) -> ModelVersion:
        """Point an unprotected alias at a version. A protected alias moves only through an
        approved promotion request (`promote`)."""
        r = model_ref(ref)
        target = parse_ref(f"{r.name}@{alias}", kind="model", aliases=True)
        if target.alias is None:
            raise InvalidInput(
                f"{alias!r} is not an alias name (a letter, then letters, digits, - or _)"
            )
        reason = check_text("reason", reason)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.MODEL_REGISTER, project, EntityKind.MODEL, r.name
            )
            policy = self._policy(tx, project)
            if policy.rule(target.alias) is not None:
                raise PermissionDenied(
                    f"alias {target.alias!r} is protected by project {project!r}'s policy: it "
                    f"moves only by an approved request; open one with: relay models promote "
                    f"{r} --to {target.alias}"
                )
            mid = self._model(tx, project, r.name)
            vid, version = self._find(tx, project, str(r))
            if version.status is VersionStatus.ARCHIVED:
                raise Conflict(f"{version.ref} is archived; it cannot take an alias")
            holder = tx.models.alias_holder(mid, target.alias, lock=True)
            move = AliasMove(
                project,
                r.name,
                target.alias,
                holder,
                version.version,
                who.user,
                utcnow(),
                reason,
                None,
            )
            tx.models.move_alias(mid, target.alias, vid, move)
            payload = {
                "alias": target.alias,
                "from": holder,
                "to": version.version,
                "reason": reason,
            }
            self.record(
                tx, who, roles, Event.ALIAS_MOVE, project, EntityKind.MODEL, version.ref, payload
            )
            return tx.models.find_version(project, r.name, version.version, None)[1]  # type: ignore[index]

    def set_tags(
        self, who: Principal, project: str, ref: str, tags: dict[str, str]
    ) -> ModelVersion:
        tags = check_tags(tags)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.MODEL_REGISTER, project, EntityKind.MODEL, ref
            )
            vid, version = self._find(tx, project, ref)
            merged = {**version.tags, **tags}
            tx.models.set_tags(vid, check_tags(merged))
            self.record(
                tx, who, roles, Event.MODEL_TAG, project, EntityKind.MODEL, version.ref, tags
            )
            return replace(version, tags=merged)

    def archive(self, who: Principal, project: str, ref: str) -> ModelVersion:
        """Archive a version: it stays readable by number but is no longer `latest`, and takes
        no alias. Refused while an alias or an open request points at it."""
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.MODEL_REGISTER, project, EntityKind.MODEL, ref
            )
            vid, version = self._find(tx, project, ref)
            blockers = tx.models.version_in_use(vid)
            if blockers:
                raise Conflict(
                    f"{version.ref} is in use ({', '.join(blockers)}); move the alias or close "
                    "the request first"
                )
            tx.models.set_status(vid, VersionStatus.ARCHIVED)
            self.record(
                tx, who, roles, Event.MODEL_ARCHIVE, project, EntityKind.MODEL, version.ref, {}
            )
            return replace(version, status=VersionStatus.ARCHIVED)

    # cards, requirements, policy ---------------------------------------------------------
    def card(self, who: Principal, project: str, name: str) -> ModelCard:
        with self.read() as tx:
            self.require_in_project(tx, who, Action.MODEL_READ, project, EntityKind.MODEL, name)
            return tx.models.card(self._model(tx, project, name), name)

    def set_card(
        self, who: Principal, project: str, name: str, fields: dict[str, str]
    ) -> ModelCard:
        """Update the model card's fields (the others are kept); a new revision each time."""
        if not isinstance(fields, dict) or not fields:
            raise InvalidInput(f"give card fields to set, among {list(MODEL_CARD_FIELDS)}")
        unknown = sorted(str(k) for k in fields if k not in MODEL_CARD_FIELDS)
        if unknown:
            raise InvalidInput(
                f"unknown card fields {unknown}; the card has {list(MODEL_CARD_FIELDS)}"
            )
        clean = {k: check_text(f"card field {k}", v) for k, v in fields.items()}
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.MODEL_CARD_EDIT, project, EntityKind.MODEL, name
            )
            mid = self._model(tx, project, name)
            current = tx.models.card(mid, name)
            merged = {**current.fields, **clean}
            now = utcnow()
            tx.models.save_card(mid, current.revision + 1, merged, who.user, now)
            self.record(
                tx, who, roles, Action.MODEL_CARD_EDIT, project, EntityKind.MODEL, name, clean
            )
            return ModelCard(name, merged, current.revision + 1, who.user, now)

    def set_requirement(
        self,
        who: Principal,
        project: str,
        name: str,
        metric: str,
        min: float | None = None,
        max: float | None = None,
    ) -> Requirement:
        """A metric bound every promotion of `name` must meet (set by a stakeholder)."""
        check_name("metric", metric)
        low, high = _number(min, "min"), _number(max, "max")
        if low is None and high is None:
            raise InvalidInput("a requirement needs --min, --max or both")
        if low is not None and high is not None and low > high:
            raise InvalidInput(f"min {low} is above max {high}")
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.REQUIREMENT_SET, project, EntityKind.MODEL, name
            )
            mid = self._model(tx, project, name)
            req = Requirement(project, name, metric, low, high, who.user, utcnow())
            tx.models.set_requirement(mid, req)
            self.record(
                tx,
                who,
                roles,
                Action.REQUIREMENT_SET,
                project,
                EntityKind.MODEL,
                name,
                {"metric": metric, "min": low, "max": high},
            )
            return req

    def requirements(self, who: Principal, project: str, name: str) -> list[Requirement]:
        with self.read() as tx:
            self.require_in_project(tx, who, Action.MODEL_READ, project, EntityKind.MODEL, name)
            self._model(tx, project, name)
            return tx.models.requirements(project, name)

    def policy(self, who: Principal, project: str) -> Policy:
        with self.read() as tx:
            self.require_in_project(tx, who, Action.MODEL_READ, project, EntityKind.POLICY, project)
            return self._policy(tx, project)

    def apply_policy(self, who: Principal, project: str, text: str) -> Policy:
        """Make `text` the project's policy (a new version; the old ones are kept)."""
        parsed = parse_policy(text)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.POLICY_MANAGE, project, EntityKind.POLICY, project
            )
            current = tx.models.policy(project)
            version = (current[0] if current else 0) + 1
            tx.models.add_policy(project, version, text, who.user, utcnow())
            self.record(
                tx,
                who,
                roles,
                Action.POLICY_MANAGE,
                project,
                EntityKind.POLICY,
                f"{project}@{version}",
                {"text": text},
            )
            return replace(parsed, version=version)

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
        self, version: ModelVersion, data: tuple[str, Any], target: str, slices: list[str]
    ) -> dict[str, Any]:
        from relayml.stats.evaluation import evaluate_classifier, evaluate_regressor

        model = self._load(version)
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

    # the compliance report ---------------------------------------------------------------
    def report(self, who: Principal, project: str, ref: str) -> dict[str, Any]:
        """The compliance report's document for the version `ref`: what Relay holds about it
        (version, run, data and lineage, the applied promotion's evidence and approval record,
        the card, the alias history, an audit excerpt and the chain's verification), as JSON.
        `relayml.reports.model_report` renders it (Markdown, self-contained HTML)."""
        from relayml.services.model_report import gather

        model_ref(ref)
        anchor = self.store.anchor
        # Read before the snapshot, as `relay audit verify` does (services/audit.py).
        checkpoints = anchor.checkpoints.read() if anchor else None
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.COMPLIANCE_REPORT, project, EntityKind.MODEL, ref
            )
            _, version = self._find(tx, project, ref)
            doc = gather(
                self.store,
                tx,
                project=project,
                model_id=self._model(tx, project, version.name),
                version=version,
                policy=self._policy(tx, project),
                checkpoints=checkpoints,
                generated_by=who.user,
                now=utcnow(),
            )
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.COMPLIANCE_REPORT, project, EntityKind.MODEL, version.ref
            )
            payload = {"audit_verified": doc["audit"]["verified"]}
            self.record(
                tx,
                who,
                roles,
                Action.COMPLIANCE_REPORT,
                project,
                EntityKind.MODEL,
                version.ref,
                payload,
            )
        return doc

    # promotion requests ------------------------------------------------------------------
    def promote(
        self,
        who: Principal,
        project: str,
        ref: str,
        alias: str,
        note: str = "",
        dataset: str | None = None,
        target: str | None = None,
    ) -> PromotionRequest:
        """Open a request to move the protected `alias` to the version `ref`; its evidence is
        computed now and stored with it. The evaluation dataset is the policy's, unless one is
        given here (`dataset` and `target`)."""
        note = check_text("note", note)
        target_ref = parse_ref(f"{model_ref(ref).name}@{alias}", kind="model", aliases=True)
        if target_ref.alias is None:
            raise InvalidInput(f"{alias!r} is not an alias name")
        if (dataset is None) != (target is None):
            raise InvalidInput("give both dataset and target, or neither (the policy's)")
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.PROMOTION_REQUEST, project, EntityKind.MODEL, ref
            )
            policy = self._policy(tx, project)
            rule = policy.rule(alias)
            if rule is None:
                raise Conflict(
                    f"alias {alias!r} is not protected in project {project!r}: set it directly "
                    f"with: relay models set-alias {ref} {alias}"
                )
            mid, _ = self._model(tx, project, model_ref(ref).name), None
            vid, version = self._find(tx, project, ref)
            if version.status is VersionStatus.ARCHIVED:
                raise Conflict(f"{version.ref} is archived; it cannot be promoted")
            holder_number = tx.models.alias_holder(mid, alias)
            if holder_number == version.version:
                raise Conflict(f"{version.ref} already holds {alias!r}")
            holder = (
                tx.models.find_version(project, version.name, holder_number, None)
                if holder_number is not None
                else None
            )
            requirements = tx.models.requirements(project, version.name)
            card = tx.models.card(mid, version.name)
            data_checks = self._data_checks(tx, project, version)
            if dataset is not None:
                evaluation_on: tuple[str, str, list[str]] | None = (dataset, target or "", [])
            elif policy.evaluation is not None:
                ev = policy.evaluation
                evaluation_on = (ev.dataset, ev.target, list(ev.slices))
            else:
                evaluation_on = None
            blob = self._dataset_blob(tx, project, evaluation_on[0]) if evaluation_on else None
        evidence = self._evidence(
            rule,
            policy,
            version,
            holder[1] if holder else None,
            requirements,
            card,
            data_checks,
            evaluation_on,
            blob,
        )
        request = PromotionRequest(
            id=uuid.uuid4().hex[:12],
            project=project,
            model=version.name,
            version=version.version,
            alias=alias,
            state=RequestState.OPEN,
            requester=who.user,
            note=note,
            created_at=utcnow(),
            holder_version=holder_number,
            policy_version=policy.version,
            evidence=tuple(evidence),
        )
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.PROMOTION_REQUEST, project, EntityKind.MODEL, ref
            )
            if tx.models.alias_holder(mid, alias) != holder_number:
                raise Conflict(f"alias {alias!r} moved while the evidence was computed; try again")
            tx.models.insert_request(request, mid, vid)
            payload = {
                "request": request.id,
                "alias": alias,
                "version": version.version,
                "holder": holder_number,
                "failed": [e.name.value for e in request.failed_evidence],
            }
            self.record(
                tx,
                who,
                roles,
                Action.PROMOTION_REQUEST,
                project,
                EntityKind.REQUEST,
                request.id,
                payload,
            )
            pending = self.notifications.enqueue(
                tx, model_request_event(request, "opened", who.user)
            )
        self._send(pending)
        return request

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
                candidate = self._score(version, frame, target, slices)
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

    def _request(
        self, tx: Transaction, request_id: str, lock: bool = False
    ) -> tuple[int, int, PromotionRequest]:
        if not isinstance(request_id, str) or not request_id.isalnum() or len(request_id) > 32:
            raise InvalidInput(
                f"invalid request id {request_id!r}; list them with: relay requests ls"
            )
        found = tx.models.get_request(request_id, lock=lock)
        if found is None:
            raise NotFound(f"no promotion request {request_id}; list them with: relay requests ls")
        return found

    def get_request(self, who: Principal, request_id: str) -> PromotionRequest:
        with self.read() as tx:
            _, _, req = self._request(tx, request_id)
            self.require_in_project(
                tx, who, Action.REQUEST_READ, req.project, EntityKind.REQUEST, req.id
            )
            return req

    def list_requests(
        self,
        who: Principal,
        project: str,
        state: str | None = None,
        model: str | None = None,
        limit: int = 100,
    ) -> list[PromotionRequest]:
        states = [parse_enum(RequestState, "request state", state)] if state is not None else None
        if model is not None:
            check_name("model", model)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_REQUESTS:
            raise InvalidInput(f"limit must be from 1 to {MAX_REQUESTS}")
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.REQUEST_READ, project, EntityKind.PROJECT, project
            )
            return tx.models.list_requests([project], states, model, limit)

    def _review(
        self,
        who: Principal,
        request_id: str,
        kind: ReviewKind,
        text: str,
        override_reason: str | None = None,
    ) -> PromotionRequest:
        text = check_text("text", text)
        if override_reason is not None:
            override_reason = check_text("override reason", override_reason).strip()
            if not override_reason:
                raise InvalidInput("an override needs a written reason")
        with self.write() as tx:
            mid, vid, req = self._request(tx, request_id, lock=True)
            action = {
                ReviewKind.APPROVE: Action.PROMOTION_APPROVE,
                ReviewKind.REJECT: Action.PROMOTION_APPROVE,
                ReviewKind.WITHDRAW: Action.PROMOTION_REQUEST,
                ReviewKind.COMMENT: Action.REQUEST_UPDATE,
            }[kind]
            roles = self.require_in_project(
                tx, who, action, req.project, EntityKind.REQUEST, req.id
            )
            if req.state is not RequestState.OPEN and kind is not ReviewKind.COMMENT:
                raise Conflict(f"request {req.id} is {req.state.value}; only open requests change")
            now = utcnow()
            review = Review(who.user, kind, text, now, tuple(sorted(r.value for r in roles)))
            event: str = kind.value
            if (
                kind is ReviewKind.WITHDRAW
                and who.user != req.requester
                and Role.ADMIN not in roles
            ):
                raise PermissionDenied(
                    f"only the requester ({req.requester}) or an admin withdraws request {req.id}"
                )
            if kind in (ReviewKind.APPROVE, ReviewKind.REJECT):
                self._check_reviewer(tx, who, roles, req, mid, vid)
            tx.models.add_review(req.id, review)
            audit_action: Any = {
                ReviewKind.APPROVE: Action.PROMOTION_APPROVE,
                ReviewKind.REJECT: Event.REQUEST_REJECT,
                ReviewKind.WITHDRAW: Event.REQUEST_WITHDRAW,
                ReviewKind.COMMENT: Event.REQUEST_COMMENT,
            }[kind]
            payload: dict[str, Any] = {"request": req.id, "text": text}
            if kind is ReviewKind.REJECT:
                tx.models.decide(req.id, RequestState.REJECTED, who.user, now)
            elif kind is ReviewKind.WITHDRAW:
                tx.models.decide(req.id, RequestState.WITHDRAWN, who.user, now)
            elif kind is ReviewKind.APPROVE:
                applied = self._maybe_apply(tx, who, roles, req, mid, vid, override_reason, now)
                payload["applied"] = applied
                event = "applied" if applied else "approved"
            self.record(
                tx, who, roles, audit_action, req.project, EntityKind.REQUEST, req.id, payload
            )
            updated = tx.models.get_request(req.id)
            assert updated is not None
            pending = self.notifications.enqueue(
                tx, model_request_event(updated[2], event, who.user)
            )
        self._send(pending)
        return updated[2]

    def _check_reviewer(
        self,
        tx: Transaction,
        who: Principal,
        roles: frozenset[Role],
        req: PromotionRequest,
        mid: int,
        vid: int,
    ) -> None:
        policy = self._policy(tx, req.project)
        rule = policy.rule(req.alias)
        if rule is None:
            raise Conflict(
                f"alias {req.alias!r} is no longer protected; withdraw request {req.id} and set "
                "the alias directly"
            )
        if not (rule.approvers & roles):
            wanted = ", ".join(sorted(r.value for r in rule.approvers))
            raise PermissionDenied(
                f"approving a move of {req.alias!r} needs one of the roles: {wanted} "
                f"(project {req.project!r}'s policy)"
            )
        if policy.separation_of_duties:
            if who.user == req.requester:
                raise PermissionDenied(
                    f"separation of duties: {who.user} opened request {req.id} and may not "
                    "review it; another approver must"
                )
            found = tx.models.find_version(req.project, req.model, req.version, None)
            run_id = found[1].run_id if found else None
            if run_id is not None:
                run = tx.tracking.get_run(run_id)
                if run is not None and run.user == who.user:
                    raise PermissionDenied(
                        f"separation of duties: {who.user} ran {run_id}, which trained "
                        f"{req.ref}, and may not review its promotion; another approver must"
                    )
        if any(r.user == who.user and r.kind is ReviewKind.APPROVE for r in req.reviews):
            raise Conflict(f"{who.user} has already approved request {req.id}")

    def _maybe_apply(
        self,
        tx: Transaction,
        who: Principal,
        roles: frozenset[Role],
        req: PromotionRequest,
        mid: int,
        vid: int,
        override_reason: str | None,
        now: Any,
    ) -> bool:
        """Apply the request if this approval completes it: the alias moves, in this
        transaction, and the request is `applied`. Failed evidence blocks unless the policy
        allows an override and the approver wrote why."""
        policy = self._policy(tx, req.project)
        rule = policy.rule(req.alias)
        assert rule is not None
        failed = req.failed_evidence
        if failed:
            names = ", ".join(e.name.value for e in failed)
            if not rule.allow_override:
                raise Unprocessable(
                    f"request {req.id} has failed evidence ({names}) and the policy allows no "
                    f"override for {req.alias!r}; reject it, or fix the cause and open a new one"
                )
            if override_reason is None:
                raise Unprocessable(
                    f"request {req.id} has failed evidence ({names}); approving it overrides "
                    "that and needs a written reason (--override-reason)"
                )
        approvers = {r.user for r in req.reviews if r.kind is ReviewKind.APPROVE} | {who.user}
        if len(approvers) < rule.approvals:
            return False
        holder = tx.models.alias_holder(mid, req.alias, lock=True)
        if holder != req.holder_version:
            raise Conflict(
                f"alias {req.alias!r} moved since request {req.id} opened (now "
                f"{req.model}@{holder}); its evidence compared against another holder: reject "
                "it and open a new one"
            )
        move = AliasMove(
            req.project, req.model, req.alias, holder, req.version, who.user, now, req.note, req.id
        )
        if not tx.models.decide(req.id, RequestState.APPLIED, who.user, now, override_reason):
            raise Conflict(f"request {req.id} was decided meanwhile")
        tx.models.move_alias(mid, req.alias, vid, move)
        payload = {
            "alias": req.alias,
            "from": holder,
            "to": req.version,
            "request": req.id,
            "override_reason": override_reason,
        }
        self.record(
            tx, who, roles, Event.ALIAS_MOVE, req.project, EntityKind.MODEL, req.ref, payload
        )
        return True

    def approve(
        self,
        who: Principal,
        request_id: str,
        note: str = "",
        override_reason: str | None = None,
    ) -> PromotionRequest:
        """Approve; the approval that meets the policy's count moves the alias at once."""
        return self._review(who, request_id, ReviewKind.APPROVE, note, override_reason)

    def reject(self, who: Principal, request_id: str, reason: str) -> PromotionRequest:
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInput("a rejection needs a reason the requester can act on")
        return self._review(who, request_id, ReviewKind.REJECT, reason)

    def withdraw(self, who: Principal, request_id: str, reason: str = "") -> PromotionRequest:
        return self._review(who, request_id, ReviewKind.WITHDRAW, reason)

    def comment(self, who: Principal, request_id: str, text: str) -> PromotionRequest:
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("a comment needs text")
        return self._review(who, request_id, ReviewKind.COMMENT, text)

    # the inbox ---------------------------------------------------------------------------
    def inbox(self, who: Principal, project: str | None = None) -> list[InboxItem]:
        """What waits for the caller's roles: promotion requests they may approve (not their
        own), and quarantined dataset versions for those who may release them."""
        if project is not None:
            check_name("project", project)
        items: list[InboxItem] = []
        with self.read() as tx:
            grants = tx.identity.grants_of(who.user)
            projects = (
                [project]
                if project is not None
                else sorted(p.name for p in tx.identity.list_projects())
            )
            for p in projects:
                roles = self.roles(tx, who.user, p)
                if not roles:
                    continue
                policy = self._policy(tx, p)
                for req in tx.models.list_requests([p], [RequestState.OPEN], None, MAX_REQUESTS):
                    rule = policy.rule(req.alias)
                    mine = req.requester == who.user
                    if (
                        rule is not None
                        and rule.approvers & roles
                        and not mine
                        and not any(
                            r.user == who.user and r.kind is ReviewKind.APPROVE for r in req.reviews
                        )
                    ):
                        failed = [e.name.value for e in req.failed_evidence]
                        title = (
                            f"promote {req.ref} to {req.alias} (by {req.requester}"
                            + (f"; failed evidence: {', '.join(failed)}" if failed else "")
                            + ")"
                        )
                        items.append(
                            InboxItem(
                                "promotion_request", p, req.id, title, req.created_at, req.requester
                            )
                        )
                if roles & _RELEASERS:
                    for info in tx.datasets.list_datasets(p):
                        for v in tx.datasets.versions(p, info.name):
                            if v.status is DatasetStatus.QUARANTINED:
                                items.append(
                                    InboxItem(
                                        "quarantined_dataset",
                                        p,
                                        v.ref,
                                        f"dataset {v.ref} is quarantined: "
                                        + (", ".join(v.failed_checks()) or "failed checks"),
                                        v.created_at,
                                        v.created_by,
                                    )
                                )
            del grants
        return sorted(items, key=lambda i: i.created_at, reverse=True)


def _as_float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
