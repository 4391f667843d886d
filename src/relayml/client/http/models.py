"""`ModelsApi` over REST: the registry. Registering uploads the artifact (streamed, with its
sha256) and then asks the server to register that upload, as in embedded mode."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from relayml.client.http.transport import HttpTransport, seg
from relayml.client.http.urls import API, name_seg, project_url
from relayml.domain.identity import check_name
from relayml.domain.models import (
    AliasMove,
    InboxItem,
    ModelCard,
    ModelInfo,
    ModelVersion,
    PromotionRequest,
    Requirement,
)
from relayml.domain.policy import Policy
from relayml.domain.refs import parse_ref
from relayml.errors import InvalidInput
from relayml.wire.datasets import UploadOut
from relayml.wire.models import (
    AliasMoveOut,
    ComplianceReportOut,
    EvaluationOut,
    InboxItemOut,
    ModelCardOut,
    ModelInfoOut,
    ModelVersionOut,
    PolicyOut,
    PromotionRequestOut,
    RequirementOut,
)


def _model_url(project: str, name: str) -> str:
    return f"{project_url(project)}/models/{name_seg('model', name)}"


def _version_url(project: str, ref: str) -> str:
    r = parse_ref(ref, kind="model", aliases=True)
    return f"{_model_url(project, r.name)}/versions/{seg(r.tail)}"


def _request_url(request_id: str) -> str:
    if not isinstance(request_id, str) or not request_id.isalnum() or len(request_id) > 32:
        raise InvalidInput(f"invalid request id {request_id!r}; list them with: relay requests ls")
    return f"{API}/requests/{seg(request_id)}"


def _version(found: Any) -> ModelVersion:
    return ModelVersionOut.model_validate(found).to_domain()


def _request(found: Any) -> PromotionRequest:
    return PromotionRequestOut.model_validate(found).to_domain()


class HttpModels:
    def __init__(self, transport: HttpTransport) -> None:
        self.t = transport

    def register(
        self,
        project: str,
        name: str,
        artifact_file: str | os.PathLike[str],
        *,
        flavor: str,
        environment: dict[str, Any],
        signature: dict[str, Any] | None = None,
        run_id: str | None = None,
        unsafe_pickle: bool = False,
        description: str = "",
        tags: dict[str, str] | None = None,
        golden_file: str | os.PathLike[str] | None = None,
    ) -> ModelVersion:
        check_name("model", name)
        uploads = f"{project_url(project)}/models/uploads"
        uploaded = self.t.put_file(uploads, artifact_file)
        golden = None
        if golden_file is not None:
            golden = UploadOut.model_validate(self.t.put_file(uploads, golden_file)).blob
        body = {
            "blob": UploadOut.model_validate(uploaded).blob,
            "flavor": flavor,
            "environment": environment,
            "signature": signature,
            "run_id": run_id,
            "unsafe_pickle": unsafe_pickle,
            "description": description,
            "tags": tags,
            "golden": golden,
        }
        return _version(self.t.call("POST", f"{_model_url(project, name)}/versions", json=body))

    def get(self, project: str, ref: str) -> ModelVersion:
        return _version(self.t.call("GET", _version_url(project, ref)))

    def download(self, project: str, ref: str, dest: str | os.PathLike[str]) -> Path:
        return self.t.get_file(f"{_version_url(project, ref)}/artifact", dest, what=f"model {ref}")

    def download_golden(self, project: str, ref: str, dest: str | os.PathLike[str]) -> Path:
        url = f"{_version_url(project, ref)}/golden"
        return self.t.get_file(url, dest, what=f"the golden set of {ref}")

    def list_models(self, project: str) -> list[ModelInfo]:
        rows = self.t.call("GET", f"{project_url(project)}/models")
        return [ModelInfoOut.model_validate(m).to_domain() for m in rows]

    def versions(self, project: str, name: str) -> list[ModelVersion]:
        return [_version(v) for v in self.t.call("GET", f"{_model_url(project, name)}/versions")]

    def history(self, project: str, name: str, alias: str | None = None) -> list[AliasMove]:
        rows = self.t.call("GET", f"{_model_url(project, name)}/history", params={"alias": alias})
        return [AliasMoveOut.model_validate(m).to_domain() for m in rows]

    def set_alias(self, project: str, ref: str, alias: str, reason: str = "") -> ModelVersion:
        r = parse_ref(ref, kind="model", aliases=True)
        target = parse_ref(f"{r.name}@{alias}", kind="model", aliases=True)
        if target.alias is None:
            raise InvalidInput(f"{alias!r} is not an alias name")
        version = r.tail if r.version is not None else self.get(project, ref).version
        body = {"version": str(version), "reason": reason}
        url = f"{_model_url(project, r.name)}/aliases/{seg(target.alias)}"
        return _version(self.t.call("PUT", url, json=body))

    def set_tags(self, project: str, ref: str, tags: dict[str, str]) -> ModelVersion:
        url = f"{_version_url(project, ref)}/tags"
        return _version(self.t.call("PATCH", url, json={"tags": tags}))

    def archive(self, project: str, ref: str) -> ModelVersion:
        return _version(self.t.call("POST", f"{_version_url(project, ref)}/archive"))

    def card(self, project: str, name: str) -> ModelCard:
        found = self.t.call("GET", f"{_model_url(project, name)}/card")
        return ModelCardOut.model_validate(found).to_domain()

    def set_card(self, project: str, name: str, fields: dict[str, str]) -> ModelCard:
        found = self.t.call("PATCH", f"{_model_url(project, name)}/card", json={"fields": fields})
        return ModelCardOut.model_validate(found).to_domain()

    def set_requirement(
        self,
        project: str,
        name: str,
        metric: str,
        min: float | None = None,
        max: float | None = None,
    ) -> Requirement:
        url = f"{_model_url(project, name)}/requirements/{name_seg('metric', metric)}"
        found = self.t.call("PUT", url, json={"min": min, "max": max})
        return RequirementOut.model_validate(found).to_domain()

    def requirements(self, project: str, name: str) -> list[Requirement]:
        rows = self.t.call("GET", f"{_model_url(project, name)}/requirements")
        return [RequirementOut.model_validate(r).to_domain() for r in rows]

    def policy(self, project: str) -> Policy:
        return PolicyOut.model_validate(
            self.t.call("GET", f"{project_url(project)}/policy")
        ).to_domain()

    def apply_policy(self, project: str, text: str) -> Policy:
        found = self.t.call("PUT", f"{project_url(project)}/policy", json={"text": text})
        return PolicyOut.model_validate(found).to_domain()

    def evaluate(
        self,
        project: str,
        ref: str,
        dataset: str,
        target: str,
        slices: list[str] | None = None,
    ) -> dict[str, Any]:
        body = {"dataset": dataset, "target": target, "slices": list(slices or [])}
        found = self.t.call("POST", f"{_version_url(project, ref)}/evaluate", json=body)
        return EvaluationOut.model_validate(found).model_dump()

    def report(self, project: str, ref: str) -> dict[str, Any]:
        found = self.t.call("GET", f"{_version_url(project, ref)}/report")
        return ComplianceReportOut.model_validate(found).model_dump(mode="json")

    def promote(
        self,
        project: str,
        ref: str,
        alias: str,
        note: str = "",
        dataset: str | None = None,
        target: str | None = None,
    ) -> PromotionRequest:
        body = {"alias": alias, "note": note, "dataset": dataset, "target": target}
        return _request(self.t.call("POST", f"{_version_url(project, ref)}/promotions", json=body))

    def get_request(self, request_id: str) -> PromotionRequest:
        return _request(self.t.call("GET", _request_url(request_id)))

    def list_requests(
        self,
        project: str,
        state: str | None = None,
        model: str | None = None,
        limit: int = 100,
    ) -> list[PromotionRequest]:
        params = {"state": state, "model": model, "limit": limit}
        rows = self.t.call("GET", f"{project_url(project)}/requests", params=params)
        return [_request(r) for r in rows]

    def approve(
        self, request_id: str, note: str = "", override_reason: str | None = None
    ) -> PromotionRequest:
        body = {"note": note, "override_reason": override_reason}
        return _request(self.t.call("POST", f"{_request_url(request_id)}/approve", json=body))

    def reject(self, request_id: str, reason: str) -> PromotionRequest:
        url = f"{_request_url(request_id)}/reject"
        return _request(self.t.call("POST", url, json={"reason": reason}))

    def withdraw(self, request_id: str, reason: str = "") -> PromotionRequest:
        url = f"{_request_url(request_id)}/withdraw"
        return _request(self.t.call("POST", url, json={"reason": reason}))

    def comment(self, request_id: str, text: str) -> PromotionRequest:
        url = f"{_request_url(request_id)}/comments"
        return _request(self.t.call("POST", url, json={"text": text}))

    def inbox(self, project: str | None = None) -> list[InboxItem]:
        rows = self.t.call("GET", f"{API}/inbox", params={"project": project})
        return [InboxItemOut.model_validate(i).to_domain() for i in rows]
