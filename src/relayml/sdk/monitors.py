"""Monitors from Python: watch a deployment for data shift, prediction drift and performance
(with and without labels), read its windows, and work its alerts.

    relay.monitors.create("churn-api", window="1h", target="churned", alert_after="3/4")
    relay.monitors.process("churn-api")               # what `relay monitors run` does per tick
    relay.monitors.history("churn-api", last=24)      # the windows, oldest first
    relay.monitors.report("churn-api", html="churn.html")
    for a in relay.monitors.list_alerts():
        relay.monitors.ack_alert(a.id, note="looking")
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from relayml.client.base import Backend
from relayml.domain.monitors import (
    Alert,
    Check,
    Monitor,
    MonitorReport,
    ProcessResult,
    Rollup,
    Window,
)
from relayml.sdk import session as _session
from relayml.sdk.models import check_report_paths


def _backend(project: str | None) -> tuple[Backend, str]:
    sess = _session.current()
    return sess.backend, project or sess.project


def create(
    deployment: str,
    *,
    name: str | None = None,
    window: str | int = "1h",
    reference: str | None = None,
    target: str | None = None,
    min_rows: int = 100,
    alert_after: str = "3/4",
    label_horizon: str | float = "30d",
    grace: str | float = "5m",
    owner: str = "ml_engineer",
    since: datetime | None = None,
    endpoint: str | None = None,
    check_every: str | float = "5m",
    no_traffic_after: int | None = None,
    evaluation: str | None = None,
    project: str | None = None,
) -> Monitor:
    """Watch `deployment` in windows of time (``"1h"``) or rows (``50000``). The reference is
    the training dataset version the deployed model's run used, unless named
    (``reference="loans@3"``); `target` names its label column (calibrates the label-free
    estimate and gives the reference's performance). With `endpoint` (the live model server,
    ``"http://127.0.0.1:8600"``), `relay monitors run` checks it for model shift every
    `check_every`. With `no_traffic_after=3` (time windows), three complete windows in a row
    without rows open a critical `no_traffic` alert. The model's outputs (prediction-drift
    baseline, calibration) come from `evaluation` (``"holdout@2"``, with its `target` column),
    by default the dataset its promotion evaluated it on, else the reference. See
    docs/monitoring.md."""
    backend, proj = _backend(project)
    return backend.monitors.create(
        proj,
        deployment,
        name=name,
        window=window,
        reference=reference,
        target=target,
        min_rows=min_rows,
        alert_after=alert_after,
        label_horizon=label_horizon,
        grace=grace,
        owner=owner,
        since=since,
        endpoint=endpoint,
        check_every=check_every,
        no_traffic_after=no_traffic_after,
        evaluation=evaluation,
    )


def set_endpoint(
    name: str,
    endpoint: str | None,
    *,
    check_every: str | float | None = None,
    project: str | None = None,
) -> Monitor:
    """Set (or clear, with None) the live model server `relay monitors run` checks for model
    shift (the served digest, the golden-set replay), and how often."""
    backend, proj = _backend(project)
    return backend.monitors.set_endpoint(proj, name, endpoint, check_every=check_every)


def get(name: str, *, project: str | None = None) -> Monitor:
    backend, proj = _backend(project)
    return backend.monitors.get(proj, name)


def list_monitors(*, include_archived: bool = False, project: str | None = None) -> list[Monitor]:
    backend, proj = _backend(project)
    return backend.monitors.list_monitors(proj, include_archived)


def pause(name: str, *, reason: str = "", project: str | None = None) -> Monitor:
    backend, proj = _backend(project)
    return backend.monitors.pause(proj, name, reason=reason)


def resume(name: str, *, reason: str = "", project: str | None = None) -> Monitor:
    backend, proj = _backend(project)
    return backend.monitors.resume(proj, name, reason=reason)


def archive(name: str, *, reason: str = "", project: str | None = None) -> Monitor:
    backend, proj = _backend(project)
    return backend.monitors.archive(proj, name, reason=reason)


def history(
    name: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    last: int | None = None,
    project: str | None = None,
) -> list[Window]:
    """The monitor's windows, oldest first (each with its assessment and what it flagged)."""
    backend, proj = _backend(project)
    return backend.monitors.history(proj, name, since=since, until=until, last=last)


def rollups(
    name: str,
    *,
    period: str = "day",
    since: datetime | None = None,
    until: datetime | None = None,
    project: str | None = None,
) -> list[Rollup]:
    """The closed windows merged by ``"day"`` or ``"week"`` and assessed anew."""
    backend, proj = _backend(project)
    return backend.monitors.rollups(proj, name, period=period, since=since, until=until)


def report(
    name: str,
    *,
    html: str | os.PathLike[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    project: str | None = None,
) -> MonitorReport:
    """The monitor's report (windows, checks, alerts); with `html`, also written as one
    self-contained page (the file whole or not at all)."""
    check_report_paths(html)
    backend, proj = _backend(project)
    found = backend.monitors.report(proj, name, since=since, until=until)
    if html is not None:
        write_html(found, html)
    return found


def write_html(report: MonitorReport, path: str | os.PathLike[str]) -> Path:
    """Render a monitor's report to a self-contained HTML file, written whole or not at all."""
    from relayml.reports.monitor_html import render_html

    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(render_html(report), encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def process(name: str, *, project: str | None = None) -> ProcessResult:
    """Read what is new in the monitor's log into windows, join feedback, decide and alert."""
    backend, proj = _backend(project)
    return backend.monitors.process(proj, name)


def record_check(
    monitor: str,
    kind: str,
    passed: bool,
    details: dict[str, Any] | None = None,
    *,
    project: str | None = None,
) -> Check:
    """Record a model-shift check (``digest`` or ``replay``); a failure alerts at once."""
    backend, proj = _backend(project)
    return backend.monitors.record_check(proj, monitor, kind, passed, details or {})


def checks(name: str, *, limit: int = 100, project: str | None = None) -> list[Check]:
    backend, proj = _backend(project)
    return backend.monitors.checks(proj, name, limit=limit)


def list_alerts(
    *,
    monitor: str | None = None,
    include_resolved: bool = False,
    limit: int = 100,
    project: str | None = None,
) -> list[Alert]:
    """Live alerts (open or acknowledged), newest change first; resolved ones too on request."""
    backend, proj = _backend(project)
    return backend.monitors.list_alerts(
        proj, monitor=monitor, include_resolved=include_resolved, limit=limit
    )


def get_alert(alert_id: str, *, project: str | None = None) -> Alert:
    backend, proj = _backend(project)
    return backend.monitors.get_alert(proj, alert_id)


def ack_alert(alert_id: str, *, note: str = "", project: str | None = None) -> Alert:
    backend, proj = _backend(project)
    return backend.monitors.ack_alert(proj, alert_id, note=note)


def comment_alert(alert_id: str, text: str, *, project: str | None = None) -> Alert:
    backend, proj = _backend(project)
    return backend.monitors.comment_alert(proj, alert_id, text)


def resolve_alert(alert_id: str, *, reason: str, project: str | None = None) -> Alert:
    backend, proj = _backend(project)
    return backend.monitors.resolve_alert(proj, alert_id, reason=reason)
