"""Deployments from Python: create them, change their traffic, promote a canary, roll back,
see what they serve, and send feedback on predictions.

    dep = relay.deployments.create("churn-api", "churn@production")
    relay.deployments.set_traffic("churn-api", canary="churn@4", canary_percent=10,
                                  sticky_key="customer_id")
    relay.deployments.resolve("churn-api").arms        # the exact versions served now
    relay.deployments.promote_canary("churn-api")      # once churn@production holds 4
    relay.deployments.rollback("churn-api")            # back to the version served before
    relay.deployments.submit_feedback("churn-api", prediction_id, label="churned")
    relay.deployments.submit_feedback_batch("churn-api", labels.to_dict("records"))
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from relayml.client.base import Backend
from relayml.domain.deployment_traffic import Traffic
from relayml.domain.deployments import (
    Deployment,
    DeploymentChange,
    Feedback,
    FeedbackBatch,
    FeedbackItem,
    FeedbackLabel,
    LogSegment,
    Resolution,
    TrafficRules,
)
from relayml.errors import InvalidInput
from relayml.sdk import session as _session


def _backend(project: str | None) -> tuple[Backend, str]:
    sess = _session.current()
    return sess.backend, project or sess.project


def create(
    name: str,
    target: str,
    *,
    canary: str | None = None,
    canary_percent: float = 0.0,
    sticky_key: str | None = None,
    shadow: str | None = None,
    unsafe_pickle: bool = False,
    reason: str = "",
    project: str | None = None,
) -> Deployment:
    """Deploy `target` as `name`: ``churn@production`` follows the alias (a server serves
    whatever version it holds), ``churn@3`` pins version 3. A canary answers
    `canary_percent` % of requests (the same ones for a given `sticky_key` value); a shadow
    sees every request and its answers are only recorded. Versions saved as pickle are
    served only with ``unsafe_pickle=True``."""
    backend, proj = _backend(project)
    traffic = TrafficRules(canary, canary_percent, sticky_key, shadow)
    return backend.deployments.create(
        proj, name, target, traffic=traffic, unsafe_pickle=unsafe_pickle, reason=reason
    )


def get(name: str, *, project: str | None = None) -> Deployment:
    backend, proj = _backend(project)
    return backend.deployments.get(proj, name)


def list_deployments(
    *, include_archived: bool = False, project: str | None = None
) -> list[Deployment]:
    backend, proj = _backend(project)
    return backend.deployments.list_deployments(proj, include_archived)


def history(name: str, *, project: str | None = None) -> list[DeploymentChange]:
    """Every change, newest first: who, when, why, before and after, and the primary version
    served then."""
    backend, proj = _backend(project)
    return backend.deployments.history(proj, name)


def resolve(name: str, *, project: str | None = None) -> Resolution:
    """The exact version and digest each arm serves now, aliases resolved."""
    backend, proj = _backend(project)
    return backend.deployments.resolve(proj, name)


def set_target(
    name: str, target: str, *, reason: str = "", project: str | None = None
) -> Deployment:
    """Follow another alias or pin another version of the same model."""
    backend, proj = _backend(project)
    return backend.deployments.set_target(proj, name, target, reason=reason)


def set_traffic(
    name: str,
    *,
    canary: str | None = None,
    canary_percent: float = 0.0,
    sticky_key: str | None = None,
    shadow: str | None = None,
    reason: str = "",
    project: str | None = None,
) -> Deployment:
    """Replace the traffic rules; with no canary and no shadow, everything goes to the
    primary again."""
    backend, proj = _backend(project)
    return backend.deployments.set_traffic(
        proj,
        name,
        canary=canary,
        canary_percent=canary_percent,
        shadow=shadow,
        sticky_key=sticky_key,
        reason=reason,
    )


def promote_canary(name: str, *, reason: str = "", project: str | None = None) -> Deployment:
    """Send all traffic to the canary's version. A deployment that follows an alias is
    promoted only once the alias holds that version (open a promotion request first)."""
    backend, proj = _backend(project)
    return backend.deployments.promote_canary(proj, name, reason=reason)


def rollback(name: str, *, reason: str = "", project: str | None = None) -> Deployment:
    """Back at once to the version served before (or, with a canary live, all traffic to the
    primary), pinned; `set_target(name, "churn@production")` follows the alias again."""
    backend, proj = _backend(project)
    return backend.deployments.rollback(proj, name, reason=reason)


def archive(name: str, *, reason: str = "", project: str | None = None) -> Deployment:
    backend, proj = _backend(project)
    return backend.deployments.archive(proj, name, reason=reason)


def record_segment(
    name: str,
    segment_file: str | os.PathLike[str],
    *,
    uri: str,
    records: int,
    first_at: datetime,
    last_at: datetime,
    server_id: str,
    project: str | None = None,
) -> LogSegment:
    """Upload and register one Parquet segment of the deployment's prediction log (model
    servers do this)."""
    backend, proj = _backend(project)
    return backend.deployments.record_segment(
        proj,
        name,
        segment_file,
        uri=uri,
        records=records,
        first_at=first_at,
        last_at=last_at,
        server_id=server_id,
    )


def list_segments(
    name: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    project: str | None = None,
) -> list[LogSegment]:
    """The prediction-log segments with records between `since` and `until`, oldest first."""
    backend, proj = _backend(project)
    return backend.deployments.list_segments(proj, name, since=since, until=until)


def download_segment(
    name: str, segment_id: str, dest: str | os.PathLike[str], *, project: str | None = None
) -> Path:
    """Write one segment's Parquet file to `dest`, verified against its sha256."""
    backend, proj = _backend(project)
    return backend.deployments.download_segment(proj, name, segment_id, dest)


def traffic(
    name: str,
    *,
    minutes: int = 60,
    as_of: datetime | None = None,
    project: str | None = None,
) -> Traffic:
    """Requests per minute for each arm and each arm's latency (p50, p95, p99) over the last
    `minutes` minutes up to `as_of` (default now), read from the newest prediction-log segments
    of every server (`Traffic.complete` says whether all of them were read)."""
    backend, proj = _backend(project)
    return backend.deployments.traffic(proj, name, minutes=minutes, as_of=as_of)


def submit_feedback(
    name: str,
    prediction_id: str,
    *,
    label: FeedbackLabel = None,
    outcome: float | None = None,
    comment: str | None = None,
    replace: bool = False,
    project: str | None = None,
) -> Feedback:
    """Feedback on one prediction (its `prediction_id` from the server's answer): the right
    label, or an outcome observed later, and a comment. A second for the same prediction
    needs ``replace=True``."""
    backend, proj = _backend(project)
    return backend.deployments.submit_feedback(
        proj, name, prediction_id, label=label, outcome=outcome, comment=comment, replace=replace
    )


def submit_feedback_batch(
    name: str,
    items: Iterable[FeedbackItem | Mapping[str, Any]],
    *,
    replace: bool = False,
    project: str | None = None,
) -> FeedbackBatch:
    """Feedback on many predictions in one call (at most 10,000), all or nothing: each item a
    ``FeedbackItem`` or a mapping with ``prediction_id`` and ``label`` and/or ``outcome`` (and
    ``comment``), e.g. ``frame.to_dict("records")``. Predictions that already have feedback
    make it a Conflict unless ``replace=True``."""
    batch: list[FeedbackItem] = []
    for n, item in enumerate(items):
        if isinstance(item, Mapping):
            unknown = set(item) - {"prediction_id", "label", "outcome", "comment"}
            if unknown or "prediction_id" not in item:
                raise InvalidInput(
                    f"feedback item {n} needs prediction_id and label and/or outcome (and "
                    f"comment); it has {sorted(map(str, item))}"
                )
            item = FeedbackItem(
                item["prediction_id"],
                _scalar(item.get("label")),
                _scalar(item.get("outcome")),
                item.get("comment"),
            )
        batch.append(item)  # any other type: the service refuses it by name
    backend, proj = _backend(project)
    return backend.deployments.submit_feedback_batch(proj, name, batch, replace=replace)


def _scalar(value: Any) -> Any:
    """NumPy scalars (what a DataFrame's records hold) as Python ones; a missing value as None."""
    if value is None:
        return None
    item = getattr(value, "item", None)
    if callable(item):
        value = item()
    if isinstance(value, float) and value != value:
        return None
    return value


def list_feedback(
    name: str,
    *,
    prediction_ids: list[str] | None = None,
    since: datetime | None = None,
    limit: int = 1000,
    project: str | None = None,
) -> list[Feedback]:
    """Feedback oldest first: on exactly `prediction_ids` (a join with the prediction log),
    from `since` on, or the newest `limit`."""
    backend, proj = _backend(project)
    return backend.deployments.list_feedback(
        proj, name, prediction_ids=prediction_ids, since=since, limit=limit
    )
