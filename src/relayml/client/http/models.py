"""`ModelsApi` over REST: the registry. Registering uploads the artifact (streamed, with its
sha256) and then asks the server to register that upload, as in embedded mode. A version's
routes take its ref as `{name}/versions/{version}` (`_VERSION`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from relayml.client.http.binding import Args, Route, get, no_body, patch, post, put
from relayml.client.http.transport import HttpTransport, seg
from relayml.client.http.urls import name_seg, project_url
from relayml.domain.identity import check_name
from relayml.domain.models import ModelVersion
from relayml.domain.refs import parse_ref
from relayml.errors import InvalidInput
from relayml.wire.datasets import UploadOut
from relayml.wire.models import ComplianceReportOut, EvaluationOut, ModelVersionOut


def _model_url(project: str, name: str) -> str:
    return f"{project_url(project)}/models/{name_seg('model', name)}"


def _version_segments(ref: str) -> str:
    r = parse_ref(ref, kind="model", aliases=True)
    return f"{seg(r.name)}/versions/{seg(r.tail)}"


def _version_url(project: str, ref: str) -> str:
    return f"{project_url(project)}/models/{_version_segments(ref)}"


def _version(found: Any) -> ModelVersion:
    return ModelVersionOut.model_validate(found).to_domain()


def _evaluation(a: Args) -> Args:
    return {"dataset": a["dataset"], "target": a["target"], "slices": list(a["slices"] or [])}


def _check_request(request_id: str) -> None:
    if not isinstance(request_id, str) or not request_id.isalnum() or len(request_id) > 32:
        raise InvalidInput(f"invalid request id {request_id!r}; list them with: relay requests ls")


def _register(t: HttpTransport, a: Args) -> ModelVersion:
    check_name("model", a["name"])
    uploads = f"{project_url(a['project'])}/models/uploads"
    blob = UploadOut.model_validate(t.put_file(uploads, a["artifact_file"])).blob
    golden = None
    if a["golden_file"] is not None:
        golden = UploadOut.model_validate(t.put_file(uploads, a["golden_file"])).blob
    files = ("project", "name", "artifact_file", "golden_file")
    body = {**{k: v for k, v in a.items() if k not in files}, "blob": blob, "golden": golden}
    return _version(t.call("POST", f"{_model_url(a['project'], a['name'])}/versions", json=body))


def _download(t: HttpTransport, a: Args) -> Path:
    url = f"{_version_url(a['project'], a['ref'])}/artifact"
    return t.get_file(url, a["dest"], what=f"model {a['ref']}")


def _download_golden(t: HttpTransport, a: Args) -> Path:
    url = f"{_version_url(a['project'], a['ref'])}/golden"
    return t.get_file(url, a["dest"], what=f"the golden set of {a['ref']}")


def _set_alias(t: HttpTransport, a: Args) -> ModelVersion:
    # a ref by alias or `latest` is resolved to its version number first
    project, ref, alias = a["project"], a["ref"], a["alias"]
    r = parse_ref(ref, kind="model", aliases=True)
    target = parse_ref(f"{r.name}@{alias}", kind="model", aliases=True)
    if target.alias is None:
        raise InvalidInput(f"{alias!r} is not an alias name")
    found = None if r.version is not None else t.call("GET", _version_url(project, ref))
    version = r.tail if found is None else _version(found).version
    body = {"version": str(version), "reason": a["reason"]}
    url = f"{_model_url(project, r.name)}/aliases/{seg(target.alias)}"
    return _version(t.call("PUT", url, json=body))


_MODEL = "/projects/{project}/models/{name:model}"
_VERSION = "/projects/{project}/models/{ref}"
_REF = {"ref": _version_segments}
_REQUEST = "/requests/{request_id}"
_REQUEST_ID = {"request_id": _check_request}


ROUTES: dict[str, Route] = {
    "register": post(f"{_MODEL}/versions", send=_register),
    "get": get(_VERSION, segments=_REF),
    "download": get(f"{_VERSION}/artifact", send=_download),
    "download_golden": get(f"{_VERSION}/golden", send=_download_golden),
    "list_models": get("/projects/{project}/models"),
    "versions": get(f"{_MODEL}/versions"),
    "history": get(f"{_MODEL}/history"),
    # the model of `ref`, its version resolved first (`_set_alias`)
    "set_alias": put("/projects/{project}/models/{ref}/aliases/{alias}", send=_set_alias),
    "set_tags": patch(f"{_VERSION}/tags", segments=_REF),
    "archive": post(f"{_VERSION}/archive", segments=_REF, body=no_body),
    "card": get(f"{_MODEL}/card"),
    "set_card": patch(f"{_MODEL}/card"),
    "set_requirement": put(f"{_MODEL}/requirements/{{metric:metric}}"),
    "requirements": get(f"{_MODEL}/requirements"),
    "policy": get("/projects/{project}/policy"),
    "apply_policy": put("/projects/{project}/policy"),
    "evaluate": post(
        f"{_VERSION}/evaluate",
        segments=_REF,
        body=_evaluation,
        out=lambda found: EvaluationOut.model_validate(found).model_dump(),
    ),
    "report": get(
        f"{_VERSION}/report",
        segments=_REF,
        out=lambda found: ComplianceReportOut.model_validate(found).model_dump(mode="json"),
    ),
    "promote": post(f"{_VERSION}/promotions", segments=_REF),
    "get_request": get(_REQUEST, checks=_REQUEST_ID),
    "list_requests": get("/projects/{project}/requests"),
    "approve": post(f"{_REQUEST}/approve", checks=_REQUEST_ID),
    "reject": post(f"{_REQUEST}/reject", checks=_REQUEST_ID),
    "withdraw": post(f"{_REQUEST}/withdraw", checks=_REQUEST_ID),
    "comment": post(f"{_REQUEST}/comments", checks=_REQUEST_ID),
    "inbox": get("/inbox"),
}
