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

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from relayml.domain.artifacts import check_digest
from relayml.domain.audit import EntityKind, Event
from relayml.domain.enums import parse_enum
from relayml.domain.identity import Principal, check_name
from relayml.domain.models import (
    MAX_GOLDEN_BYTES,
    MODEL_CARD_FIELDS,
    AliasMove,
    Environment,
    Flavor,
    GoldenSet,
    ModelCard,
    ModelInfo,
    ModelVersion,
    Requirement,
    Signature,
    VersionStatus,
    check_tags,
    check_text,
)
from relayml.domain.policy import Policy, approver_problems, parse_policy
from relayml.domain.refs import parse_ref
from relayml.domain.roles import Action
from relayml.domain.tracking import check_run_id
from relayml.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unprocessable,
)
from relayml.services.base import utcnow
from relayml.services.promotions import PromotionMixin
from relayml.services.registry import model_ref


def _number(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise InvalidInput(f"{what} must be a number, not {value!r}")
    return float(value)


class ModelService(PromotionMixin):
    """The registry's operations: versions, aliases, tags, cards, requirements, policy and the
    compliance report here; evaluation and evidence in `services/evidence.py`, promotion
    requests and the inbox in `services/promotions.py`."""

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
        golden: str | None = None,
    ) -> ModelVersion:
        """Register the uploaded artifact `blob` as `name`'s next version. A scikit-learn
        (skops) artifact naming a type outside Relay's allow-list is refused here, before
        anything reads it as a model; a pickle needs `unsafe_pickle=True`, kept on the version.
        `golden` is an uploaded golden-set file (``relayml.flavors.golden``), checked against
        the signature before it is kept. The same bytes registered again to the same model are
        the existing version."""
        check_name("model", name)
        check_digest(blob)
        if golden is not None:
            check_digest(golden)
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
            if golden is not None:
                self.require_blob(tx, project, golden, "golden set")
        if chosen is Flavor.SKLEARN:
            self._check_skops(blob)
        golden_set = None if golden is None else self._check_golden(golden, sig)
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
                golden=golden_set,
            )
            tx.models.insert_version(mid, mv)
            payload = {
                "digest": blob,
                "flavor": chosen.value,
                "run": run_id,
                "unsafe_pickle": unsafe_pickle,
                "golden": golden,
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

    def _check_golden(self, digest: str, signature: Signature | None) -> GoldenSet:
        from relayml.flavors.golden import read_golden

        if signature is None:
            raise InvalidInput(
                "a golden set needs the version's signature (the columns its rows are checked "
                "against); register it with one"
            )
        size = self.artifacts.size(digest)
        if size > MAX_GOLDEN_BYTES:
            raise InvalidInput(f"the golden set is {size} bytes; the registry keeps at most "
                               f"{MAX_GOLDEN_BYTES}")  # fmt: skip
        found = read_golden(b"".join(self.artifacts.iter_verified(digest)), signature)
        return GoldenSet(digest=digest, rows=len(found), size=size)

    def download_golden(
        self, who: Principal, project: str, ref: str
    ) -> tuple[GoldenSet, Iterator[bytes]]:
        """The version's golden set and its file's bytes, verified as they stream; NotFound
        when the version has none."""
        version = self.get(who, project, ref)
        if version.golden is None:
            raise NotFound(
                f"{version.ref} has no golden set: it was registered without an input example "
                "or golden sample (relay.models.register(..., input_example=X[:5]))"
            )
        return version.golden, self.artifacts.iter_verified(version.golden.digest)

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
                    f"{version.ref} is in use ({', '.join(blockers)}); move the alias, close "
                    "the request or point the deployment elsewhere first"
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
            table = self.table(tx, project)
            problems = approver_problems(parsed, table)
            if problems:
                said = "; ".join(f"protected.{a}.approvers: {r} {why}" for a, r, why in problems)
                raise InvalidInput(
                    f"{said}. Name roles of project {project!r} that may approve: "
                    f"{', '.join(table.holders(Action.PROMOTION_APPROVE))} (relay roles ls -p "
                    f"{project}; an admin defines roles with relay roles apply)"
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
