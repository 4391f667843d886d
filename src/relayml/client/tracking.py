"""The `tracking` area's operations, `TrackingApi`: each one its service
method (`op`, `client/ops.py`), bound in-process by `client.local` and sent by its route
in `client/http/tracking.py`."""

from __future__ import annotations

from relayml.client.ops import op
from relayml.services.tracking import TrackingService


class TrackingApi:
    """`services.tracking`: experiments, runs, params, metrics, tags and search."""

    list_experiments = op(TrackingService.list_experiments)
    create_run = op(TrackingService.create_run)
    log_batch = op(TrackingService.log_batch)
    end_run = op(TrackingService.end_run)
    get_run = op(TrackingService.get_run)
    metric_history = op(TrackingService.metric_history)
    search_runs = op(TrackingService.search_runs)
