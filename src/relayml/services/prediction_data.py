"""What model servers and people record about a deployment's predictions: the prediction
log's Parquet segments (uploaded as blobs, registered by logical name) and feedback on single
predictions (one per prediction id, so a join with the log is exact)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime

from relayml.domain.audit import AuditAction, EntityKind, Event
from relayml.domain.deployments import (
    MAX_FEEDBACK_IDS,
    Deployment,
    Feedback,
    FeedbackBatch,
    FeedbackItem,
    FeedbackLabel,
    LogSegment,
    check_bool,
    check_deployment_name,
    check_feedback,
    check_feedback_items,
    check_prediction_id,
    check_prediction_ids,
    check_segment,
    check_time,
)
from relayml.domain.identity import Principal
from relayml.domain.roles import Action
from relayml.errors import Conflict, InvalidInput, NotFound
from relayml.services.base import utcnow
from relayml.services.registry import RegistryBase
from relayml.store.base import Transaction


class DeploymentLookup(RegistryBase):
    def _get(self, tx: Transaction, project: str, name: str) -> tuple[int, Deployment]:
        found = tx.deployments.get(project, name)
        if found is None:
            raise NotFound(
                f"no deployment {name!r} in project {project!r}; list them with: "
                f"relay deployments ls -p {project}"
            )
        return found


class PredictionDataMixin(DeploymentLookup):
    # prediction-log segments ----------------------------------------------------------------
    def upload(
        self,
        who: Principal,
        project: str,
        name: str,
        chunks: Iterable[bytes],
        expected_digest: str | None = None,
    ) -> tuple[str, int]:
        """Store a segment file's bytes for a later `record_segment`; returns (sha256, size)."""
        name = check_deployment_name(name)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.PREDICTION_LOG_WRITE, project, EntityKind.DEPLOYMENT, name
            )
            self._get(tx, project, name)
        return self.store_upload(who, project, chunks, expected_digest)

    def record_segment(
        self,
        who: Principal,
        project: str,
        name: str,
        *,
        uri: str,
        digest: str,
        records: int,
        first_at: datetime,
        last_at: datetime,
        server_id: str,
    ) -> LogSegment:
        """Register an uploaded Parquet segment of the deployment's prediction log. The same
        uri with the same bytes again returns the first registration (a retry); with other
        bytes it is a Conflict. An archived deployment still takes the last segments its
        servers flush."""
        name = check_deployment_name(name)
        check_segment(
            project,
            name,
            uri=uri,
            digest=digest,
            records=records,
            first_at=first_at,
            last_at=last_at,
            server_id=server_id,
        )
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.PREDICTION_LOG_WRITE, project, EntityKind.DEPLOYMENT, name
            )
            _, dep = self._get(tx, project, name)
            existing = tx.deployments.segment(dep, uri=uri)
            if existing is not None:
                if existing.digest == digest:
                    return existing
                raise Conflict(
                    f"segment {uri} of deployment {name!r} is registered with other bytes "
                    f"(sha256 {existing.digest[:12]}...); give each segment file its own name"
                )
            self.require_blob(tx, project, digest, "segment file")
            seg = LogSegment(
                id=uuid.uuid4().hex,
                deployment=name,
                project=project,
                uri=uri,
                digest=digest,
                records=records,
                first_at=first_at,
                last_at=last_at,
                server_id=server_id,
                registered_at=utcnow(),
            )
            tx.deployments.add_segment(dep, seg, who.user)
            payload = {"uri": uri, "digest": digest, "records": records, "server_id": server_id}
            self.record(
                tx,
                who,
                roles,
                Action.PREDICTION_LOG_WRITE,
                project,
                EntityKind.DEPLOYMENT,
                name,
                payload,
            )
            return seg

    def list_segments(
        self,
        who: Principal,
        project: str,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[LogSegment]:
        """The segments holding records between `since` and `until` (either open), oldest
        first."""
        name = check_deployment_name(name)
        if since is not None:
            check_time("since", since)
        if until is not None:
            check_time("until", until)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.DEPLOYMENT_READ, project, EntityKind.DEPLOYMENT, name
            )
            _, dep = self._get(tx, project, name)
            return tx.deployments.segments(dep, since, until)

    def download_segment(
        self, who: Principal, project: str, name: str, segment_id: str
    ) -> tuple[LogSegment, Iterator[bytes]]:
        """The segment and its bytes, verified against their sha256 as they stream."""
        name = check_deployment_name(name)
        if not isinstance(segment_id, str) or len(segment_id) != 32 or not segment_id.isalnum():
            raise InvalidInput(
                f"invalid segment id {segment_id!r:.40}: list them with relay deployments "
                "segments NAME"
            )
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.DEPLOYMENT_READ, project, EntityKind.DEPLOYMENT, name
            )
            _, dep = self._get(tx, project, name)
            found = tx.deployments.segment(dep, segment_id=segment_id)
            if found is None:
                raise NotFound(
                    f"deployment {name!r} has no segment {segment_id}; list them with: relay "
                    f"deployments segments {name}"
                )
        return found, self.artifacts.iter_verified(found.digest)

    # feedback -------------------------------------------------------------------------------
    def submit_feedback(
        self,
        who: Principal,
        project: str,
        name: str,
        prediction_id: str,
        *,
        label: FeedbackLabel = None,
        outcome: float | None = None,
        comment: str | None = None,
        replace: bool = False,
    ) -> Feedback:
        """Feedback on one prediction: the right label, or an outcome observed later, with a
        comment. One per prediction: a second is a Conflict unless `replace`. Taken by
        archived deployments too (ground truth arrives late)."""
        name = check_deployment_name(name)
        prediction_id = check_prediction_id(prediction_id)
        lab, out, com = check_feedback(label, outcome, comment)
        check_bool("replace", replace)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.FEEDBACK_SUBMIT, project, EntityKind.DEPLOYMENT, name
            )
            _, dep = self._get(tx, project, name)
            existing = tx.deployments.feedback(dep, prediction_id)
            if existing is not None and not replace:
                raise Conflict(
                    f"prediction {prediction_id} of {name!r} already has feedback (from "
                    f"{existing.who} at {existing.at.isoformat(timespec='seconds')}); replace "
                    "it with --replace (replace=True)"
                )
            fb = Feedback(prediction_id, name, project, lab, out, com, who.user, utcnow())
            tx.deployments.put_feedback(dep, fb, replace=existing is not None)
            event: AuditAction = (
                Action.FEEDBACK_SUBMIT if existing is None else (Event.FEEDBACK_REPLACE)
            )
            payload = {"prediction_id": prediction_id, "label": lab, "outcome": out, "comment": com}
            self.record(
                tx,
                who,
                roles,
                event,
                project,
                EntityKind.DEPLOYMENT,
                f"{name}/{prediction_id}",
                payload,
            )
            return fb

    def submit_feedback_batch(
        self,
        who: Principal,
        project: str,
        name: str,
        items: list[FeedbackItem],
        *,
        replace: bool = False,
    ) -> FeedbackBatch:
        """Feedback on many predictions at once (labels that arrive late, a day's outcomes),
        all or nothing: a prediction that already has feedback is a Conflict naming it, and
        nothing is written, unless `replace`. One audit event for the batch carries its count
        and the sha256 of its items as given (each row keeps who and when)."""
        name = check_deployment_name(name)
        checked = check_feedback_items(items)
        check_bool("replace", replace)
        canonical = json.dumps(
            [[i.prediction_id, i.label, i.outcome, i.comment] for i in checked],
            separators=(",", ":"),
            ensure_ascii=False,
        )
        digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.FEEDBACK_SUBMIT, project, EntityKind.DEPLOYMENT, name
            )
            _, dep = self._get(tx, project, name)
            ids = [i.prediction_id for i in checked]
            existing = {
                f.prediction_id for f in tx.deployments.list_feedback(dep, ids, None, len(ids))
            }
            if existing and not replace:
                first = sorted(existing)[:5]
                raise Conflict(
                    f"{len(existing)} of these predictions of {name!r} already have feedback "
                    f"({', '.join(first)}{' ...' if len(existing) > 5 else ''}); nothing was "
                    "recorded: replace them with --replace (replace=True) or leave them out"
                )
            at = utcnow()
            fbs = [
                Feedback(
                    i.prediction_id, name, project, i.label, i.outcome, i.comment, who.user, at
                )
                for i in checked
            ]
            tx.deployments.put_feedback_many(dep, fbs, existing)
            batch = FeedbackBatch(name, project, len(fbs) - len(existing), len(existing), digest)
            self.record(
                tx,
                who,
                roles,
                Action.FEEDBACK_SUBMIT,
                project,
                EntityKind.DEPLOYMENT,
                name,
                {
                    "batch": len(fbs),
                    "added": batch.added,
                    "replaced": batch.replaced,
                    "sha256": digest,
                },
            )
            return batch

    def list_feedback(
        self,
        who: Principal,
        project: str,
        name: str,
        *,
        prediction_ids: list[str] | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> list[Feedback]:
        """Feedback oldest first: on exactly these prediction ids (for a join), or from
        `since` on (the first `limit`), or the newest `limit`."""
        name = check_deployment_name(name)
        ids = check_prediction_ids(prediction_ids)
        if since is not None:
            check_time("since", since)
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= (MAX_FEEDBACK_IDS)
        ):
            raise InvalidInput(f"limit must be 1 to {MAX_FEEDBACK_IDS}, not {limit!r:.40}")
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.FEEDBACK_READ, project, EntityKind.DEPLOYMENT, name
            )
            _, dep = self._get(tx, project, name)
            return tx.deployments.list_feedback(dep, ids, since, limit)
