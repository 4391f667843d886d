"""`MonitorsApi` over REST: monitors under `/projects/{project}/monitors`, alerts under
`/projects/{project}/alerts`. Values JSON cannot carry (NaN, a lone surrogate) are refused here
with the service's own checks before anything is sent."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from relayml.client.http.transport import HttpTransport, seg
from relayml.client.http.urls import name_seg, project_url
from relayml.domain.deployments import check_time
from relayml.domain.monitors import (
    Alert,
    Check,
    Monitor,
    MonitorReport,
    ProcessResult,
    Rollup,
    Window,
    check_alert_id,
    check_endpoint,
    check_min_rows,
    check_no_traffic_after,
    check_note,
    parse_persistence,
    parse_window,
)
from relayml.domain.numbers import json_safe
from relayml.domain.text import check_text
from relayml.errors import InvalidInput
from relayml.wire.monitors import (
    AlertOut,
    CheckOut,
    MonitorOut,
    MonitorReportOut,
    ProcessResultOut,
    RollupOut,
    WindowOut,
)


def _url(project: str, name: str | None = None) -> str:
    base = f"{project_url(project)}/monitors"
    return base if name is None else f"{base}/{name_seg('monitor', name)}"


def _alert_url(project: str, alert_id: str | None = None) -> str:
    base = f"{project_url(project)}/alerts"
    return base if alert_id is None else f"{base}/{seg(check_alert_id(alert_id))}"


def _time(what: str, value: datetime | None) -> str | None:
    return None if value is None else check_time(what, value).isoformat()


def _mon(found: Any) -> Monitor:
    return MonitorOut.model_validate(found).to_domain()


def _alert(found: Any) -> Alert:
    return AlertOut.model_validate(found).to_domain()


def _seconds(what: str, value: str | float) -> str | float:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{what} must be a duration such as 30d, not {value!r}")
    if isinstance(value, str):
        check_text(what, value, 100)
    return value


def _walk(value: Any) -> None:
    if isinstance(value, str):
        check_text("text", value, len(value))
    elif isinstance(value, dict):
        for k, v in value.items():
            _walk(k)
            _walk(v)
    elif isinstance(value, list | tuple):
        for v in value:
            _walk(v)


class HttpMonitors:
    def __init__(self, transport: HttpTransport) -> None:
        self.t = transport

    def create(
        self,
        project: str,
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
    ) -> Monitor:
        spec = parse_window(window)  # the service's own checks: the same refusal everywhere
        check_no_traffic_after(no_traffic_after, spec)
        parse_persistence(alert_after)
        check_min_rows(min_rows)
        if endpoint is not None:
            check_endpoint(endpoint)
        body = {
            "deployment": deployment,
            "name": name,
            "window": window,
            "reference": reference,
            "target": target,
            "min_rows": min_rows,
            "alert_after": alert_after,
            "label_horizon": _seconds("label horizon", label_horizon),
            "grace": _seconds("grace", grace),
            "owner": owner,
            "since": _time("since", since),
            "endpoint": endpoint,
            "check_every": _seconds("check every", check_every),
            "no_traffic_after": no_traffic_after,
            "evaluation": evaluation,
        }
        _walk(body)
        return _mon(self.t.call("POST", _url(project), json=body))

    def set_endpoint(
        self,
        project: str,
        name: str,
        endpoint: str | None,
        *,
        check_every: str | float | None = None,
    ) -> Monitor:
        if endpoint is not None:
            check_endpoint(endpoint)
        every = _seconds("check every", check_every) if check_every is not None else None
        body = {"endpoint": endpoint, "check_every": every}
        _walk(body)
        return _mon(self.t.call("POST", f"{_url(project, name)}/endpoint", json=body))

    def get(self, project: str, name: str) -> Monitor:
        return _mon(self.t.call("GET", _url(project, name)))

    def list_monitors(self, project: str, include_archived: bool = False) -> list[Monitor]:
        if not isinstance(include_archived, bool):
            raise InvalidInput(f"include_archived must be true or false, not {include_archived!r}")
        params = {"include_archived": "true" if include_archived else "false"}
        return [_mon(m) for m in self.t.call("GET", _url(project), params=params)]

    def _status(self, project: str, name: str, what: str, reason: str) -> Monitor:
        body = {"reason": check_note("reason", reason)}
        return _mon(self.t.call("POST", f"{_url(project, name)}/{what}", json=body))

    def pause(self, project: str, name: str, *, reason: str = "") -> Monitor:
        return self._status(project, name, "pause", reason)

    def resume(self, project: str, name: str, *, reason: str = "") -> Monitor:
        return self._status(project, name, "resume", reason)

    def archive(self, project: str, name: str, *, reason: str = "") -> Monitor:
        return self._status(project, name, "archive", reason)

    def history(
        self,
        project: str,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        last: int | None = None,
    ) -> list[Window]:
        params = {"since": _time("since", since), "until": _time("until", until), "last": last}
        rows = self.t.call("GET", f"{_url(project, name)}/windows", params=params)
        return [WindowOut.model_validate(w).to_domain() for w in rows]

    def rollups(
        self,
        project: str,
        name: str,
        *,
        period: str = "day",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Rollup]:
        check_text("period", period, 16)
        params = {"period": period, "since": _time("since", since), "until": _time("until", until)}
        rows = self.t.call("GET", f"{_url(project, name)}/rollups", params=params)
        return [RollupOut.model_validate(r).to_domain() for r in rows]

    def report(
        self,
        project: str,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> MonitorReport:
        params = {"since": _time("since", since), "until": _time("until", until)}
        found = self.t.call("GET", f"{_url(project, name)}/report", params=params)
        return MonitorReportOut.model_validate(found).to_domain()

    def process(self, project: str, name: str) -> ProcessResult:
        found = self.t.call("POST", f"{_url(project, name)}/process", json={})
        return ProcessResultOut.model_validate(found).to_domain()

    def record_check(
        self, project: str, monitor: str, kind: str, passed: bool, details: dict[str, Any]
    ) -> Check:
        if not isinstance(details, dict):
            raise InvalidInput("check details must be a JSON object (a dict with text keys)")
        safe = json_safe(details)
        _walk(safe)
        body = {"kind": kind, "passed": passed, "details": safe}
        found = self.t.call("POST", f"{_url(project, monitor)}/checks", json=body)
        return CheckOut.model_validate(found).to_domain()

    def checks(self, project: str, name: str, *, limit: int = 100) -> list[Check]:
        rows = self.t.call("GET", f"{_url(project, name)}/checks", params={"limit": limit})
        return [CheckOut.model_validate(c).to_domain() for c in rows]

    def list_alerts(
        self,
        project: str,
        *,
        monitor: str | None = None,
        include_resolved: bool = False,
        limit: int = 100,
    ) -> list[Alert]:
        if not isinstance(include_resolved, bool):
            raise InvalidInput("include_resolved must be true or false")
        params = {
            "monitor": monitor,
            "include_resolved": "true" if include_resolved else "false",
            "limit": limit,
        }
        return [_alert(a) for a in self.t.call("GET", _alert_url(project), params=params)]

    def get_alert(self, project: str, alert_id: str) -> Alert:
        return _alert(self.t.call("GET", _alert_url(project, alert_id)))

    def ack_alert(self, project: str, alert_id: str, *, note: str = "") -> Alert:
        body = {"note": check_note("note", note)}
        return _alert(self.t.call("POST", f"{_alert_url(project, alert_id)}/ack", json=body))

    def comment_alert(self, project: str, alert_id: str, text: str) -> Alert:
        body = {"text": check_note("comment", text, required=True)}
        return _alert(self.t.call("POST", f"{_alert_url(project, alert_id)}/comments", json=body))

    def resolve_alert(self, project: str, alert_id: str, *, reason: str) -> Alert:
        body = {"reason": check_note("reason", reason, required=True)}
        return _alert(self.t.call("POST", f"{_alert_url(project, alert_id)}/resolve", json=body))
