"""The `deployments` area's operations, `DeploymentsApi`: each one its service
method (`op`, `client/ops.py`), bound in-process by `client.local` and sent by its route
in `client/http/deployments.py`."""

from __future__ import annotations

from relayml.client.files import DeploymentFiles
from relayml.client.ops import file_op, op
from relayml.services.deployments import DeploymentsService


class DeploymentsApi:
    """`services.deployments`: deployments (a model's alias followed or a version pinned, with
    traffic rules and history), what each serves now, prediction-log segments and feedback.

    Files cross the boundary: `record_segment` takes the local Parquet file of a segment,
    uploads it (its sha256 computed from the bytes) and registers it under the logical `uri`;
    `download_segment` writes a registered segment to `dest`, verified, and returns its path.
    """

    create = op(DeploymentsService.create)
    get = op(DeploymentsService.get)
    list_deployments = op(DeploymentsService.list_deployments)
    history = op(DeploymentsService.history)
    set_target = op(DeploymentsService.set_target)
    set_traffic = op(DeploymentsService.set_traffic)
    promote_canary = op(DeploymentsService.promote_canary)
    rollback = op(DeploymentsService.rollback)
    archive = op(DeploymentsService.archive)
    resolve = op(DeploymentsService.resolve)
    record_segment = file_op(DeploymentFiles.record_segment)
    list_segments = op(DeploymentsService.list_segments)
    download_segment = file_op(DeploymentFiles.download_segment)
    traffic = op(DeploymentsService.traffic)
    submit_feedback = op(DeploymentsService.submit_feedback)
    submit_feedback_batch = op(DeploymentsService.submit_feedback_batch)
    list_feedback = op(DeploymentsService.list_feedback)
