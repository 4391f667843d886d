"""Deployments: ``relay.deployments.create / set_traffic / promote_canary / rollback ...``

    import relayml as relay
    relay.deployments.create("churn-api", "churn@production")
    relay.deployments.set_traffic("churn-api", canary="churn@4", canary_percent=10)
    relay.deployments.rollback("churn-api")
    relay.deployments.submit_feedback("churn-api", prediction_id, label="churned")
    relay.deployments.traffic("churn-api", minutes=60).arms  # requests, latency per arm

See docs/serving.md.
"""

from __future__ import annotations

from relayml.sdk.deployments import (
    archive,
    create,
    download_segment,
    get,
    history,
    list_feedback,
    list_segments,
    promote_canary,
    record_segment,
    resolve,
    rollback,
    set_target,
    set_traffic,
    submit_feedback,
    submit_feedback_batch,
    traffic,
)
from relayml.sdk.deployments import list_deployments as list

__all__ = [
    "archive",
    "create",
    "download_segment",
    "get",
    "history",
    "list",
    "list_feedback",
    "list_segments",
    "promote_canary",
    "record_segment",
    "resolve",
    "rollback",
    "set_target",
    "set_traffic",
    "submit_feedback",
    "submit_feedback_batch",
    "traffic",
]
