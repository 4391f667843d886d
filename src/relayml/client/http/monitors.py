"""`MonitorsApi` over REST: monitors under `/projects/{project}/monitors`, alerts under
`/projects/{project}/alerts`. Values JSON cannot carry (NaN, a lone surrogate) are refused here
with the service's own checks before anything is sent."""

from __future__ import annotations

import math
from collections.abc import Callable

from relayml.client.http.binding import (
    Args,
    Route,
    checked_as,
    get,
    optional_times,
    post,
    text_checked,
)
from relayml.domain.deployments import check_bool
from relayml.domain.monitors import (
    check_alert_id,
    check_endpoint,
    check_min_rows,
    check_no_traffic_after,
    check_note,
    parse_persistence,
    parse_window,
)
from relayml.domain.text import check_text
from relayml.errors import InvalidInput


def _seconds(what: str, value: str | float) -> str | float:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{what} must be a duration such as 30d, not {value!r}")
    if isinstance(value, str):
        check_text(what, value, 100)
    return value


def _create(a: Args) -> object:
    spec = parse_window(a["window"])  # the service's own checks: the same refusal everywhere
    check_no_traffic_after(a["no_traffic_after"], spec)
    parse_persistence(a["alert_after"])
    check_min_rows(a["min_rows"])
    if a["endpoint"] is not None:
        check_endpoint(a["endpoint"])
    body = {k: v for k, v in a.items() if k != "project"}
    body["label_horizon"] = _seconds("label horizon", a["label_horizon"])
    body["grace"] = _seconds("grace", a["grace"])
    body["check_every"] = _seconds("check every", a["check_every"])
    return text_checked(body)


def _set_endpoint(a: Args) -> object:
    if a["endpoint"] is not None:
        check_endpoint(a["endpoint"])
    every = a["check_every"]
    body = {
        "endpoint": a["endpoint"],
        "check_every": _seconds("check every", every) if every is not None else None,
    }
    return text_checked(body)


def _record_check(a: Args) -> object:
    details = a["details"]
    if not isinstance(details, dict) or not all(isinstance(k, str) for k in details):
        raise InvalidInput("check details must be a JSON object (a dict with text keys)")
    return {"kind": a["kind"], "passed": a["passed"], "details": text_checked(details)}


def _note(field: str, what: str, *, required: bool = False) -> Callable[[Args], object]:
    """A body of one note a person wrote (`field`), checked as the service checks it."""
    return lambda a: {field: check_note(what, a[field], required=required)}


def _include_resolved(value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidInput("include_resolved must be true or false")


_ONE = "/projects/{project}/monitors/{name:monitor}"
_ALERT = "/projects/{project}/alerts/{alert_id}"
_ALERT_ID = {"alert_id": check_alert_id}

ROUTES: dict[str, Route] = {
    "create": post("/projects/{project}/monitors", body=_create, checks=optional_times("since")),
    "set_endpoint": post(f"{_ONE}/endpoint", body=_set_endpoint),
    "get": get(_ONE),
    "list_monitors": get(
        "/projects/{project}/monitors", checks=checked_as(check_bool, "include_archived")
    ),
    "pause": post(f"{_ONE}/pause", body=_note("reason", "reason")),
    "resume": post(f"{_ONE}/resume", body=_note("reason", "reason")),
    "archive": post(f"{_ONE}/archive", body=_note("reason", "reason")),
    "history": get(f"{_ONE}/windows", checks=optional_times("since", "until")),
    "rollups": get(
        f"{_ONE}/rollups",
        checks={
            "period": lambda v: check_text("period", v, 16),
            **optional_times("since", "until"),
        },
    ),
    "report": get(f"{_ONE}/report", checks=optional_times("since", "until")),
    "process": post(f"{_ONE}/process"),
    "record_check": post(
        "/projects/{project}/monitors/{monitor:monitor}/checks", body=_record_check
    ),
    "checks": get(f"{_ONE}/checks"),
    "list_alerts": get(
        "/projects/{project}/alerts", checks={"include_resolved": _include_resolved}
    ),
    "get_alert": get(_ALERT, checks=_ALERT_ID),
    "ack_alert": post(f"{_ALERT}/ack", body=_note("note", "note"), checks=_ALERT_ID),
    "comment_alert": post(
        f"{_ALERT}/comments", body=_note("text", "comment", required=True), checks=_ALERT_ID
    ),
    "resolve_alert": post(
        f"{_ALERT}/resolve", body=_note("reason", "reason", required=True), checks=_ALERT_ID
    ),
}
