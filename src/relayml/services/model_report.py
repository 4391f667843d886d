"""What a compliance report says about one model version, gathered from what Relay holds.

`ModelService.report` calls `gather` inside one read transaction: the version, its run's
params and metrics, the datasets the run used (status, contract, quality report, parents, the
pipeline run that produced them), the promotion request that last moved an alias to it (its
evidence and its approval record), the requirements, the policy, the model card, the alias
history, and an excerpt of the audit trail with the whole chain's verification. The document is
plain JSON (times as ISO 8601, non-finite numbers as strings); `relayml.reports.model_report`
renders it, `wire.models.ComplianceReportOut` describes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from relayml.domain.audit import Checkpoint, EntityKind
from relayml.domain.models import ModelVersion, PromotionRequest, RequestState
from relayml.domain.numbers import json_safe
from relayml.domain.policy import Policy
from relayml.domain.refs import parse_ref
from relayml.services.audit import check_trail
from relayml.store.base import MetadataStore, Transaction

REPORT_FORMAT = 1
MAX_AUDIT_EVENTS = 200
MAX_REQUESTS = 1000  # the store's page; a version's own requests are far fewer


def _t(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def gather(
    store: MetadataStore,
    tx: Transaction,
    *,
    project: str,
    model_id: int,
    version: ModelVersion,
    policy: Policy,
    checkpoints: Sequence[Checkpoint] | None,
    generated_by: str,
    now: datetime,
) -> dict[str, Any]:
    name = version.name
    requests = [
        r
        for r in tx.models.list_requests([project], None, name, MAX_REQUESTS)
        if r.version == version.version
    ]
    applied = [r for r in requests if r.state is RequestState.APPLIED]
    promotion = max(applied, key=lambda r: r.decided_at or r.created_at) if applied else None
    card = tx.models.card(model_id, name)
    verified = check_trail(store, tx, checkpoints)
    doc: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "project": project,
        "generated_at": now.isoformat(),
        "generated_by": generated_by,
        "model": _version(version),
        "run": _run(tx, version.run_id),
        "datasets": _datasets(tx, project, version.run_id),
        "promotion": _request(promotion) if promotion else None,
        "requirements": [
            {
                "metric": q.metric,
                "min": q.min,
                "max": q.max,
                "set_by": q.set_by,
                "set_at": q.set_at.isoformat(),
            }
            for q in tx.models.requirements(project, name)
        ],
        "policy": _policy(policy),
        "card": {
            "revision": card.revision,
            "updated_by": card.updated_by,
            "updated_at": _t(card.updated_at),
            "fields": dict(card.fields),
        },
        "alias_history": [
            {
                "alias": m.alias,
                "from_version": m.from_version,
                "to_version": m.to_version,
                "by": m.by,
                "at": m.at.isoformat(),
                "reason": m.reason,
                "request_id": m.request_id,
            }
            for m in tx.models.alias_history(project, name, None)
        ],
        "audit": {
            "verified": verified.ok,
            "checked": verified.checked,
            "first_bad_seq": verified.first_bad_seq,
            "reason": verified.reason,
            "checkpoints": verified.checkpoints,
            "events": _audit(tx, project, name, requests[:50]),
        },
    }
    return json_safe(doc)  # type: ignore[no-any-return]


def _version(v: ModelVersion) -> dict[str, Any]:
    return {
        "name": v.name,
        "version": v.version,
        "ref": v.ref,
        "digest": v.digest,
        "size": v.size,
        "flavor": v.flavor.value,
        "unsafe_pickle": v.unsafe_pickle,
        "status": v.status.value,
        "description": v.description,
        "tags": dict(v.tags),
        "aliases": list(v.aliases),
        "created_at": v.created_at.isoformat(),
        "created_by": v.created_by,
        "signature": v.signature.to_dict() if v.signature else None,
        "environment": v.environment.to_dict(),
        "run_id": v.run_id,
    }


def _run(tx: Transaction, run_id: str | None) -> dict[str, Any] | None:
    run = tx.tracking.get_run(run_id) if run_id else None
    if run is None:
        return None
    return {
        "id": run.id,
        "experiment": run.experiment,
        "name": run.name,
        "status": run.status.value,
        "user": run.user,
        "start_time": run.start_time.isoformat(),
        "end_time": _t(run.end_time),
        "params": dict(run.params),
        "metrics": dict(run.metrics),
        "tags": dict(run.tags),
    }


def _datasets(tx: Transaction, project: str, run_id: str | None) -> list[dict[str, Any]]:
    if run_id is None:
        return []
    out = []
    for ref in tx.datasets.datasets_used_by(run_id):
        r = parse_ref(ref)
        found = tx.datasets.find_version(project, r.name, r.version, True)
        if found is None:
            continue
        vid, d = found
        producer = None
        if d.producer and d.producer.get("pipeline_run"):
            prun = tx.pipelines.get_run(d.producer["pipeline_run"], with_steps=True)
            if prun is not None:
                producer = {
                    "pipeline_run": prun.id,
                    "pipeline": prun.pipeline,
                    "step": d.producer.get("step"),
                    "status": prun.status.value,
                    "params": dict(prun.params),
                    "steps": [s.name for s in prun.steps],
                    "started_at": prun.started_at.isoformat(),
                    "ended_at": _t(prun.ended_at),
                }
        out.append(
            {
                "ref": d.ref,
                "digest": d.digest,
                "rows": d.rows,
                "status": d.status.value,
                "description": d.description,
                "source": d.source,
                "created_at": d.created_at.isoformat(),
                "created_by": d.created_by,
                "columns": [dict(c) for c in d.schema],
                "contract": d.contract,
                "quality": d.quality,
                "parents": [p.ref for _, p in tx.datasets.parents(vid)],
                "producer": producer,
                "released_by": d.released_by,
                "release_reason": d.release_reason,
            }
        )
    return out


def _request(r: PromotionRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "alias": r.alias,
        "state": r.state.value,
        "requester": r.requester,
        "note": r.note,
        "created_at": r.created_at.isoformat(),
        "holder_version": r.holder_version,
        "policy_version": r.policy_version,
        "decided_by": r.decided_by,
        "decided_at": _t(r.decided_at),
        "override_reason": r.override_reason,
        "evidence": [
            {
                "name": e.name.value,
                "ok": e.ok,
                "required": e.required,
                "summary": e.summary,
                "details": e.details,
            }
            for e in r.evidence
        ],
        "reviews": [
            {
                "user": v.user,
                "kind": v.kind.value,
                "text": v.text,
                "at": v.at.isoformat(),
                "roles": list(v.roles),
            }
            for v in r.reviews
        ],
    }


def _policy(p: Policy) -> dict[str, Any]:
    return {
        "version": p.version,
        "separation_of_duties": p.separation_of_duties,
        "protected": {
            alias: {
                "approvals": rule.approvals,
                "approvers": sorted(rule.approvers),
                "evidence": [e.value for e in rule.evidence],
                "allow_override": rule.allow_override,
            }
            for alias, rule in sorted(p.protected.items())
        },
    }


def _audit(
    tx: Transaction, project: str, name: str, requests: list[PromotionRequest]
) -> list[dict[str, Any]]:
    events = [
        e
        for e in tx.audit.query(
            entity_kind=EntityKind.MODEL, project=project, limit=MAX_AUDIT_EVENTS * 5
        )
        if e.entity_id == name or e.entity_id.startswith(f"{name}@")
    ]
    for r in requests:
        events += tx.audit.query(
            entity_kind=EntityKind.REQUEST, entity_id=r.id, project=project, limit=100
        )
    newest = sorted({e.seq: e for e in events}.values(), key=lambda e: e.seq)[-MAX_AUDIT_EVENTS:]
    return [
        {
            "seq": e.seq,
            "at": e.ts.isoformat(),
            "actor": e.actor,
            "roles": list(e.roles),
            "action": e.action,
            "entity": f"{e.entity_kind}:{e.entity_id}",
            "outcome": e.outcome,
            "count": e.count,
            "hash": e.hash,
        }
        for e in newest
    ]
