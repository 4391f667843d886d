"""Monitors: ``relay.monitors.create / process / history / report / list_alerts ...``

    import relayml as relay
    relay.monitors.create("churn-api", window="1h", target="churned")
    relay.monitors.report("churn-api", html="churn-api.html")
    for alert in relay.monitors.list_alerts():
        print(alert.severity, alert.title)

See docs/monitoring.md.
"""

from __future__ import annotations

from relayml.sdk.monitors import (
    ack_alert,
    archive,
    checks,
    comment_alert,
    create,
    get,
    get_alert,
    history,
    list_alerts,
    pause,
    process,
    record_check,
    report,
    resolve_alert,
    resume,
    rollups,
    set_endpoint,
    write_html,
)
from relayml.sdk.monitors import list_monitors as list

__all__ = [
    "ack_alert",
    "archive",
    "checks",
    "comment_alert",
    "create",
    "get",
    "get_alert",
    "history",
    "list",
    "list_alerts",
    "pause",
    "process",
    "record_check",
    "report",
    "resolve_alert",
    "resume",
    "rollups",
    "set_endpoint",
    "write_html",
]
