"""The `monitors` area's operations, `MonitorsApi`: each one its service
method (`op`, `client/ops.py`), bound in-process by `client.local` and sent by its route
in `client/http/monitors.py`."""

from __future__ import annotations

from relayml.client.ops import op
from relayml.services.monitors import MonitorsService


class MonitorsApi:
    """`services.monitors`: monitors on deployments (windows of the prediction log, drift,
    performance with and without labels), their processing, model-shift checks, and alerts."""

    create = op(MonitorsService.create)
    set_endpoint = op(MonitorsService.set_endpoint)
    get = op(MonitorsService.get)
    list_monitors = op(MonitorsService.list_monitors)
    pause = op(MonitorsService.pause)
    resume = op(MonitorsService.resume)
    archive = op(MonitorsService.archive)
    history = op(MonitorsService.history)
    rollups = op(MonitorsService.rollups)
    report = op(MonitorsService.report)
    process = op(MonitorsService.process)
    record_check = op(MonitorsService.record_check)
    checks = op(MonitorsService.checks)
    list_alerts = op(MonitorsService.list_alerts)
    get_alert = op(MonitorsService.get_alert)
    ack_alert = op(MonitorsService.ack_alert)
    comment_alert = op(MonitorsService.comment_alert)
    resolve_alert = op(MonitorsService.resolve_alert)
