"""`DeploymentsApi` over REST. Recording a segment uploads its file (streamed, with its sha256)
and then registers that upload, as in embedded mode. Values JSON cannot carry (NaN, a lone
surrogate) are refused here with the service's own checks, before anything is sent."""

from __future__ import annotations

import math
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from relayml.client.http.transport import HttpTransport, seg
from relayml.client.http.urls import name_seg, project_url
from relayml.domain.deployment_traffic import Traffic, check_minutes
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
    check_feedback,
    check_feedback_items,
    check_percent,
    check_prediction_id,
    check_prediction_ids,
    check_reason,
    check_time,
)
from relayml.domain.text import check_text
from relayml.errors import InvalidInput
from relayml.wire.datasets import UploadOut
from relayml.wire.deployments import (
    DeploymentChangeOut,
    DeploymentOut,
    FeedbackBatchOut,
    FeedbackOut,
    LogSegmentOut,
    ResolutionOut,
    TrafficOut,
)


def _url(project: str, name: str | None = None) -> str:
    base = f"{project_url(project)}/deployments"
    return base if name is None else f"{base}/{name_seg('deployment', name)}"


def _dep(found: Any) -> Deployment:
    return DeploymentOut.model_validate(found).to_domain()


def _time(what: str, value: datetime | None) -> str | None:
    return None if value is None else check_time(what, value).isoformat()


def _traffic(
    canary: str | None, canary_percent: float, shadow: str | None, sticky_key: str | None
) -> dict[str, Any]:
    if isinstance(canary_percent, float) and not math.isfinite(canary_percent):
        check_percent(canary_percent)  # refuses it, as the service would
    return {
        "canary": canary,
        "canary_percent": canary_percent,
        "shadow": shadow,
        "sticky_key": sticky_key,
    }


def _walk_text(value: Any) -> None:
    if isinstance(value, str):
        check_text("text", value, len(value))  # a lone surrogate: refused, as the service does
    elif isinstance(value, dict):
        for v in value.values():
            _walk_text(v)
    elif isinstance(value, list):
        for v in value:
            _walk_text(v)


class _Checked:
    """The transport, with every JSON body's text checked first (orjson cannot encode a lone
    surrogate; the service refuses it as InvalidInput, and so does this client)."""

    def __init__(self, transport: HttpTransport) -> None:
        self._t = transport

    def call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        _walk_text(json)
        _walk_text(params)
        return self._t.call(method, path, json=json, params=params)

    def put_file(self, path: str, local_file: str | os.PathLike[str]) -> Any:
        return self._t.put_file(path, local_file)

    def get_file(self, path: str, dest: str | os.PathLike[str], *, what: str) -> Path:
        return self._t.get_file(path, dest, what=what)


class HttpDeployments:
    def __init__(self, transport: HttpTransport) -> None:
        self.t = _Checked(transport)

    def create(
        self,
        project: str,
        name: str,
        target: str,
        *,
        traffic: TrafficRules | None = None,
        unsafe_pickle: bool = False,
        reason: str = "",
    ) -> Deployment:
        if traffic is not None and not isinstance(traffic, TrafficRules):
            raise InvalidInput("traffic must be TrafficRules (canary, percent, sticky key, shadow)")
        rules = None
        if traffic is not None:
            t = traffic
            rules = _traffic(t.canary, t.canary_percent, t.shadow, t.sticky_key)
        body = {
            "name": name,
            "target": target,
            "traffic": rules,
            "unsafe_pickle": unsafe_pickle,
            "reason": check_reason(reason),
        }
        return _dep(self.t.call("POST", _url(project), json=body))

    def get(self, project: str, name: str) -> Deployment:
        return _dep(self.t.call("GET", _url(project, name)))

    def list_deployments(self, project: str, include_archived: bool = False) -> list[Deployment]:
        if not isinstance(include_archived, bool):
            raise InvalidInput(f"include_archived must be true or false, not {include_archived!r}")
        params = {"include_archived": "true" if include_archived else "false"}
        return [_dep(d) for d in self.t.call("GET", _url(project), params=params)]

    def history(self, project: str, name: str) -> list[DeploymentChange]:
        rows = self.t.call("GET", f"{_url(project, name)}/history")
        return [DeploymentChangeOut.model_validate(c).to_domain() for c in rows]

    def set_target(self, project: str, name: str, target: str, *, reason: str = "") -> Deployment:
        body = {"target": target, "reason": check_reason(reason)}
        return _dep(self.t.call("PUT", f"{_url(project, name)}/target", json=body))

    def set_traffic(
        self,
        project: str,
        name: str,
        *,
        canary: str | None = None,
        canary_percent: float = 0.0,
        shadow: str | None = None,
        sticky_key: str | None = None,
        reason: str = "",
    ) -> Deployment:
        body = _traffic(canary, canary_percent, shadow, sticky_key)
        body["reason"] = check_reason(reason)
        return _dep(self.t.call("PUT", f"{_url(project, name)}/traffic", json=body))

    def _post(self, project: str, name: str, what: str, reason: str) -> Deployment:
        body = {"reason": check_reason(reason)}
        return _dep(self.t.call("POST", f"{_url(project, name)}/{what}", json=body))

    def promote_canary(self, project: str, name: str, *, reason: str = "") -> Deployment:
        return self._post(project, name, "promote-canary", reason)

    def rollback(self, project: str, name: str, *, reason: str = "") -> Deployment:
        return self._post(project, name, "rollback", reason)

    def archive(self, project: str, name: str, *, reason: str = "") -> Deployment:
        return self._post(project, name, "archive", reason)

    def resolve(self, project: str, name: str) -> Resolution:
        found = self.t.call("GET", f"{_url(project, name)}/resolution")
        return ResolutionOut.model_validate(found).to_domain()

    def record_segment(
        self,
        project: str,
        name: str,
        segment_file: str | os.PathLike[str],
        *,
        uri: str,
        records: int,
        first_at: datetime,
        last_at: datetime,
        server_id: str,
    ) -> LogSegment:
        url = _url(project, name)
        uploaded = self.t.put_file(f"{url}/segments/uploads", segment_file)
        body = {
            "uri": uri,
            "digest": UploadOut.model_validate(uploaded).blob,
            "records": records,
            "first_at": _time("first_at", first_at),
            "last_at": _time("last_at", last_at),
            "server_id": server_id,
        }
        found = self.t.call("POST", f"{url}/segments", json=body)
        return LogSegmentOut.model_validate(found).to_domain()

    def list_segments(
        self,
        project: str,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[LogSegment]:
        params = {"since": _time("since", since), "until": _time("until", until)}
        rows = self.t.call("GET", f"{_url(project, name)}/segments", params=params)
        return [LogSegmentOut.model_validate(s).to_domain() for s in rows]

    def traffic(
        self, project: str, name: str, *, minutes: int = 60, as_of: datetime | None = None
    ) -> Traffic:
        params = {"minutes": check_minutes(minutes), "as_of": _time("as_of", as_of)}
        found = self.t.call("GET", f"{_url(project, name)}/traffic", params=params)
        return TrafficOut.model_validate(found).to_domain()

    def download_segment(
        self, project: str, name: str, segment_id: str, dest: str | os.PathLike[str]
    ) -> Path:
        if not isinstance(segment_id, str) or len(segment_id) != 32 or not segment_id.isalnum():
            raise InvalidInput(
                f"invalid segment id {segment_id!r:.40}: list them with relay deployments "
                "segments NAME"
            )
        url = f"{_url(project, name)}/segments/{seg(segment_id)}/file"
        return self.t.get_file(url, dest, what=f"segment {segment_id}")

    def submit_feedback(
        self,
        project: str,
        name: str,
        prediction_id: str,
        *,
        label: FeedbackLabel = None,
        outcome: float | None = None,
        comment: str | None = None,
        replace: bool = False,
    ) -> Feedback:
        check_prediction_id(prediction_id)
        check_feedback(label, outcome, comment)
        body = {
            "prediction_id": prediction_id,
            "label": label,
            "outcome": outcome,
            "comment": comment,
            "replace": replace,
        }
        found = self.t.call("POST", f"{_url(project, name)}/feedback", json=body)
        return FeedbackOut.model_validate(found).to_domain()

    def submit_feedback_batch(
        self,
        project: str,
        name: str,
        items: list[FeedbackItem],
        *,
        replace: bool = False,
    ) -> FeedbackBatch:
        checked = check_feedback_items(items)
        body = {
            "items": [
                {
                    "prediction_id": i.prediction_id,
                    "label": i.label,
                    "outcome": i.outcome,
                    "comment": i.comment,
                }
                for i in checked
            ],
            "replace": replace,
        }
        found = self.t.call("POST", f"{_url(project, name)}/feedback/batch", json=body)
        return FeedbackBatchOut.model_validate(found).to_domain()

    def list_feedback(
        self,
        project: str,
        name: str,
        *,
        prediction_ids: list[str] | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> list[Feedback]:
        url = f"{_url(project, name)}/feedback"
        if prediction_ids is not None:
            check_prediction_ids(prediction_ids)
            body = {"prediction_ids": prediction_ids, "since": _time("since", since),
                    "limit": limit}  # fmt: skip
            rows = self.t.call("POST", f"{url}/search", json=body)
        else:
            params = {"since": _time("since", since), "limit": limit}
            rows = self.t.call("GET", url, params=params)
        return [FeedbackOut.model_validate(f).to_domain() for f in rows]
