"""How domain objects cross the wire as JSON, both ways (server encodes, http client decodes).

Pure functions over the domain dataclasses, no web framework: the http client imports this
without pulling in FastAPI. Floats that JSON cannot carry (NaN, ±inf) travel as strings via
`encode_float`/`decode_float`; times travel as ISO 8601.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from relayml.domain.audit import AuditEvent, Checkpoint, VerifyResult
from relayml.domain.datasets import DatasetInfo
from relayml.domain.identity import IssuedToken, Project, Role, TokenInfo, User
from relayml.domain.numbers import decode_float, encode_float
from relayml.domain.storage import GcReport, Leftover
from relayml.domain.tracking import (
    ArtifactInfo,
    Experiment,
    MetricPoint,
    RunPage,
    RunRecord,
)

DIGEST_HEADER = "X-Relay-Digest"
"""The sha256 of an artifact's bytes: sent with an upload, returned with a download."""


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def project_out(p: Project) -> dict[str, Any]:
    return {
        "name": p.name,
        "created_at": p.created_at.isoformat(),
        "created_by": p.created_by,
        "description": p.description,
    }


def project_in(d: dict[str, Any]) -> Project:
    return Project(
        name=d["name"],
        created_at=_time(d["created_at"]),
        created_by=d["created_by"],
        description=d.get("description", ""),
    )


def user_out(u: User) -> dict[str, Any]:
    return {
        "name": u.name,
        "created_at": u.created_at.isoformat(),
        "grants": {p: [r.value for r in roles] for p, roles in u.grants.items()},
        "active": u.active,
    }


def user_in(d: dict[str, Any]) -> User:
    return User(
        name=d["name"],
        created_at=_time(d["created_at"]),
        grants={p: [Role(r) for r in roles] for p, roles in d["grants"].items()},
        active=bool(d.get("active", True)),
    )


def token_out(t: IssuedToken) -> dict[str, Any]:
    expires = t.expires_at.isoformat() if t.expires_at else None
    return {"user": t.user, "token": t.token, "token_id": t.token_id, "expires_at": expires}


def token_in(d: dict[str, Any]) -> IssuedToken:
    expires = d.get("expires_at")
    return IssuedToken(
        user=d["user"],
        token=d["token"],
        token_id=d["token_id"],
        expires_at=_time(expires) if expires else None,
    )


def token_info_out(t: TokenInfo) -> dict[str, Any]:
    return {
        "id": t.id,
        "user": t.user,
        "created_at": t.created_at.isoformat(),
        "expires_at": t.expires_at.isoformat() if t.expires_at else None,
        "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
    }


def token_info_in(d: dict[str, Any]) -> TokenInfo:
    return TokenInfo(
        id=d["id"],
        user=d["user"],
        created_at=_time(d["created_at"]),
        expires_at=_time(d["expires_at"]) if d.get("expires_at") else None,
        revoked_at=_time(d["revoked_at"]) if d.get("revoked_at") else None,
    )


def experiment_out(e: Experiment) -> dict[str, Any]:
    return {
        "project": e.project,
        "name": e.name,
        "created_at": e.created_at.isoformat(),
        "created_by": e.created_by,
        "run_count": e.run_count,
    }


def experiment_in(d: dict[str, Any]) -> Experiment:
    return Experiment(
        project=d["project"],
        name=d["name"],
        created_at=_time(d["created_at"]),
        created_by=d["created_by"],
        run_count=int(d.get("run_count", 0)),
    )


def artifact_out(a: ArtifactInfo) -> dict[str, Any]:
    return {"path": a.path, "digest": a.digest, "size": a.size}


def artifact_in(d: dict[str, Any]) -> ArtifactInfo:
    return ArtifactInfo(path=d["path"], digest=d["digest"], size=int(d["size"]))


def points_out(points: list[MetricPoint]) -> list[list[Any]]:
    """Compact: one `[key, value, step, timestamp]` list per point."""
    return [[p.key, encode_float(p.value), p.step, p.timestamp] for p in points]


def points_in(rows: list[list[Any]]) -> list[MetricPoint]:
    return [MetricPoint(k, decode_float(v), int(s), int(t)) for k, v, s, t in rows]


def run_page_out(page: RunPage) -> dict[str, Any]:
    return {"runs": [r.to_dict() for r in page.runs], "next_page_token": page.next_page_token}


def run_page_in(d: dict[str, Any]) -> RunPage:
    return RunPage([RunRecord.from_dict(r) for r in d["runs"]], d.get("next_page_token"))


def event_out(e: AuditEvent) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "ts": e.ts.isoformat(timespec="microseconds"),
        "actor": e.actor,
        "roles": list(e.roles),
        "action": e.action,
        "entity_kind": e.entity_kind,
        "entity_id": e.entity_id,
        "project": e.project,
        "outcome": e.outcome,
        "payload_digest": e.payload_digest,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
        "count": e.count,
    }


def event_in(d: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        seq=int(d["seq"]),
        ts=_time(d["ts"]),
        actor=d["actor"],
        roles=list(d["roles"]),
        action=d["action"],
        entity_kind=d["entity_kind"],
        entity_id=d["entity_id"],
        project=d["project"],
        outcome=d["outcome"],
        payload_digest=d["payload_digest"],
        prev_hash=d["prev_hash"],
        hash=d["hash"],
        count=int(d.get("count", 1)),
    )


def verify_out(v: VerifyResult) -> dict[str, Any]:
    return {
        "ok": v.ok,
        "checked": v.checked,
        "first_bad_seq": v.first_bad_seq,
        "reason": v.reason,
        "checkpoints": v.checkpoints,
    }


def verify_in(d: dict[str, Any]) -> VerifyResult:
    return VerifyResult(
        ok=bool(d["ok"]),
        checked=int(d["checked"]),
        first_bad_seq=d.get("first_bad_seq"),
        reason=d.get("reason", ""),
        checkpoints=int(d.get("checkpoints", 0)),
    )


def gc_out(r: GcReport) -> dict[str, Any]:
    return {
        "applied": r.applied,
        "grace_seconds": r.grace_seconds,
        "bytes": r.bytes,
        "leftovers": [
            {"kind": i.kind, "name": i.name, "size": i.size, "age_seconds": i.age_seconds}
            for i in r.leftovers
        ],
    }


def gc_in(d: dict[str, Any]) -> GcReport:
    items = [
        Leftover(i["kind"], i["name"], int(i["size"]), float(i["age_seconds"]))
        for i in d["leftovers"]
    ]
    return GcReport(bool(d["applied"]), float(d["grace_seconds"]), items)


def checkpoint_out(c: Checkpoint) -> dict[str, Any]:
    return {"seq": c.seq, "hash": c.hash, "ts": c.ts, "key_id": c.key_id, "mac": c.mac}


def checkpoint_in(d: dict[str, Any]) -> Checkpoint:
    return Checkpoint(
        seq=int(d["seq"]), hash=d["hash"], ts=d["ts"], key_id=d["key_id"], mac=d["mac"]
    )


def dataset_info_out(d: DatasetInfo) -> dict[str, Any]:
    return {
        "project": d.project,
        "name": d.name,
        "description": d.description,
        "created_at": d.created_at.isoformat(),
        "created_by": d.created_by,
        "versions": d.versions,
        "latest": d.latest,
    }


def dataset_info_in(d: dict[str, Any]) -> DatasetInfo:
    return DatasetInfo(
        project=d["project"],
        name=d["name"],
        description=d.get("description", ""),
        created_at=_time(d["created_at"]),
        created_by=d["created_by"],
        versions=int(d["versions"]),
        latest=d.get("latest"),
    )
