"""`DeploymentsApi` over REST. Recording a segment uploads its file (streamed, with its sha256)
and then registers that upload, as in embedded mode. Values JSON cannot carry (NaN, a lone
surrogate) are refused here with the service's own checks, before anything is sent."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from relayml.client.http.binding import (
    Args,
    Route,
    checked_as,
    get,
    optional_times,
    post,
    put,
    text_checked,
)
from relayml.client.http.transport import HttpTransport, seg
from relayml.client.http.urls import name_seg, project_url
from relayml.domain.deployment_traffic import check_minutes
from relayml.domain.deployments import (
    Feedback,
    LogSegment,
    TrafficRules,
    check_bool,
    check_feedback,
    check_feedback_items,
    check_percent,
    check_prediction_id,
    check_prediction_ids,
    check_reason,
)
from relayml.errors import InvalidInput
from relayml.wire.datasets import UploadOut
from relayml.wire.deployments import FeedbackOut, LogSegmentOut


def _url(a: Args) -> str:
    return f"{project_url(a['project'])}/deployments/{name_seg('deployment', a['name'])}"


def _after(a: Args, *path: str) -> dict[str, Any]:
    """The arguments but those in the path: the body's fields, under the same names."""
    return {k: v for k, v in a.items() if k not in path}


def _percent(value: object) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        check_percent(value)  # refuses it, as the service would


def _create(a: Args) -> object:
    traffic = a["traffic"]
    if traffic is not None and not isinstance(traffic, TrafficRules):
        raise InvalidInput("traffic must be TrafficRules (canary, percent, sticky key, shadow)")
    body = _after(a, "project")
    if traffic is not None:
        _percent(traffic.canary_percent)
        body["traffic"] = dataclasses.asdict(traffic)  # as given: the server checks the rules
    body["reason"] = check_reason(a["reason"])
    return text_checked(body)


def _with_reason(a: Args) -> object:
    """The arguments after the deployment's name, the reason checked."""
    return text_checked({**_after(a, "project", "name"), "reason": check_reason(a["reason"])})


def _set_traffic(a: Args) -> object:
    _percent(a["canary_percent"])
    return _with_reason(a)


def _feedback(a: Args) -> object:
    check_prediction_id(a["prediction_id"])
    check_feedback(a["label"], a["outcome"], a["comment"])
    return text_checked(_after(a, "project", "name"))


def _feedback_batch(a: Args) -> object:
    items = [dataclasses.asdict(i) for i in check_feedback_items(a["items"])]
    return text_checked({"items": items, "replace": a["replace"]})


def _record_segment(t: HttpTransport, a: Args) -> LogSegment:
    url = _url(a)
    uploaded = t.put_file(f"{url}/segments/uploads", a["segment_file"])
    body = {
        **_after(a, "project", "name", "segment_file"),
        "digest": UploadOut.model_validate(uploaded).blob,
    }
    found = t.call("POST", f"{url}/segments", json=text_checked(body))
    return LogSegmentOut.model_validate(found).to_domain()


def _download_segment(t: HttpTransport, a: Args) -> Path:
    segment_id = a["segment_id"]
    if not isinstance(segment_id, str) or len(segment_id) != 32 or not segment_id.isalnum():
        raise InvalidInput(
            f"invalid segment id {segment_id!r:.40}: list them with relay deployments segments NAME"
        )
    url = f"{_url(a)}/segments/{seg(segment_id)}/file"
    return t.get_file(url, a["dest"], what=f"segment {segment_id}")


def _list_feedback(t: HttpTransport, a: Args) -> list[Feedback]:
    # by prediction ids: a search (POST, the ids in the body); else a plain listing (GET)
    url = f"{_url(a)}/feedback"
    if a["prediction_ids"] is not None:
        check_prediction_ids(a["prediction_ids"])
        rows = t.call("POST", f"{url}/search", json=text_checked(_after(a, "project", "name")))
    else:
        found = text_checked(_after(a, "project", "name", "prediction_ids"))
        rows = t.call("GET", url, params=found)
    return [FeedbackOut.model_validate(f).to_domain() for f in rows]


_ONE = "/projects/{project}/deployments/{name:deployment}"

ROUTES: dict[str, Route] = {
    "create": post("/projects/{project}/deployments", body=_create),
    "get": get(_ONE),
    "list_deployments": get(
        "/projects/{project}/deployments", checks=checked_as(check_bool, "include_archived")
    ),
    "history": get(f"{_ONE}/history"),
    "set_target": put(f"{_ONE}/target", body=_with_reason),
    "set_traffic": put(f"{_ONE}/traffic", body=_set_traffic),
    "promote_canary": post(f"{_ONE}/promote-canary", body=_with_reason),
    "rollback": post(f"{_ONE}/rollback", body=_with_reason),
    "archive": post(f"{_ONE}/archive", body=_with_reason),
    "resolve": get(f"{_ONE}/resolution"),
    "record_segment": post(
        f"{_ONE}/segments", send=_record_segment, checks=optional_times("first_at", "last_at")
    ),
    "list_segments": get(f"{_ONE}/segments", checks=optional_times("since", "until")),
    "download_segment": get(_ONE + "/segments/{segment_id}/file", send=_download_segment),
    "traffic": get(f"{_ONE}/traffic", checks={"minutes": check_minutes, **optional_times("as_of")}),
    "submit_feedback": post(f"{_ONE}/feedback", body=_feedback),
    "submit_feedback_batch": post(f"{_ONE}/feedback/batch", body=_feedback_batch),
    "list_feedback": get(f"{_ONE}/feedback", send=_list_feedback, checks=optional_times("since")),
}
