"""The http backend: the same `Backend` interface as `LocalBackend`, over Relay's REST API.

One keep-alive httpx client per backend. Errors come back as the same `RelayError` subclasses
the services raise; an unreachable server is `ServerUnavailable`. Artifacts stream both ways
and are checked against their sha256 at each end.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from relayml import wire
from relayml.client.http_datasets import HttpDatasets
from relayml.client.http_pipelines import HttpPipelines
from relayml.client.http_transport import seg as _seg
from relayml.client.http_webhooks import HttpWebhooks
from relayml.domain.artifacts import check_logical_path
from relayml.domain.audit import AuditEvent, Checkpoint, VerifyResult
from relayml.domain.identity import (
    IssuedToken,
    Project,
    TokenInfo,
    User,
    check_name,
    check_token_id,
    parse_role,
)
from relayml.domain.storage import DEFAULT_GRACE, GcReport
from relayml.domain.tracking import (
    ArtifactInfo,
    Experiment,
    MetricPoint,
    RunPage,
    RunRecord,
    check_key,
    check_point,
    check_run_id,
    param_value,
    tag_value,
)

_TIMEOUT = httpx.Timeout(300.0, connect=10.0)


# Ids and names are checked here with the service's own checks before they go into a URL: a
# server decodes '%2F' before routing and an http client drops '..' segments, so a malformed
# value would otherwise reach another route instead of being refused as the service refuses it.
def _run(run_id: str) -> str:
    return _seg(check_run_id(run_id))


def _name(kind: str, value: str) -> str:
    return _seg(check_name(kind, value))


class HttpBackend(HttpDatasets, HttpPipelines, HttpWebhooks):
    kind = "http"

    def __init__(self, url: str, token: str | None) -> None:
        super().__init__(url, token)
        try:
            # Fail fast on a wrong URL or a missing/bad token, at relay.init(server=...).
            self.user: str = self.whoami()["user"]
        except BaseException:
            self._http.close()
            raise

    # identity ----------------------------------------------------------------------------
    def whoami(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/api/v1/whoami")
        return result

    def create_project(self, name: str, description: str = "") -> Project:
        body = {"name": name, "description": description}
        return wire.project_in(self._call("POST", "/api/v1/projects", json=body))

    def ensure_project(self, name: str) -> Project:
        return wire.project_in(self._call("PUT", f"/api/v1/projects/{_name('project', name)}"))

    def list_projects(self) -> list[Project]:
        return [wire.project_in(p) for p in self._call("GET", "/api/v1/projects")]

    def create_user(
        self, name: str, roles: list[str], project: str, expires: str | None = None
    ) -> IssuedToken:
        body = {"name": name, "roles": list(roles), "project": project, "expires": expires}
        return wire.token_in(self._call("POST", "/api/v1/users", json=body))

    def issue_token(self, user: str, expires: str | None = None) -> IssuedToken:
        path = f"/api/v1/users/{_name('user', user)}/tokens"
        return wire.token_in(self._call("POST", path, json={"expires": expires}))

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        rows = self._call("GET", "/api/v1/tokens", params={"user": user})
        return [wire.token_info_in(t) for t in rows]

    def revoke_token(self, token_id: str) -> TokenInfo:
        # the same rule as the service, checked before the id becomes part of a URL
        check_token_id(token_id)
        return wire.token_info_in(self._call("DELETE", f"/api/v1/tokens/{_seg(token_id)}"))

    def set_user_active(self, user: str, active: bool) -> User:
        verb = "activate" if active else "deactivate"
        return wire.user_in(self._call("POST", f"/api/v1/users/{_name('user', user)}/{verb}"))

    def list_users(self, project: str | None = None) -> list[User]:
        rows = self._call("GET", "/api/v1/users", params={"project": project})
        return [wire.user_in(u) for u in rows]

    def grant(self, user: str, role: str, project: str) -> None:
        body = {"role": role, "project": project}
        self._call("POST", f"/api/v1/users/{_name('user', user)}/grants", json=body)

    def revoke(self, user: str, role: str, project: str) -> None:
        path = f"/api/v1/users/{_name('user', user)}/grants/{_seg(parse_role(role).value)}"
        self._call("DELETE", path, params={"project": project})

    # tracking ----------------------------------------------------------------------------
    def list_experiments(self, project: str) -> list[Experiment]:
        rows = self._call("GET", f"/api/v1/projects/{_name('project', project)}/experiments")
        return [wire.experiment_in(e) for e in rows]

    def create_run(
        self,
        *,
        project: str,
        experiment: str,
        name: str | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        parent_id: str | None = None,
    ) -> RunRecord:
        body = {
            "experiment": experiment,
            "name": name,
            "params": _params(params),
            "tags": _tags(tags),
            "parent_id": parent_id,
        }
        data = self._call("POST", f"/api/v1/projects/{_name('project', project)}/runs", json=body)
        return RunRecord.from_dict(data)

    def log_batch(
        self,
        run_id: str,
        *,
        params: dict[str, Any] | None = None,
        metrics: list[MetricPoint] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> int:
        body = {
            "params": _params(params),
            "tags": _tags(tags),
            # Checked here as the service checks them, so a bad point fails the same way.
            "metrics": wire.points_out([check_point(p) for p in metrics or []]),
        }
        data = self._call("POST", f"/api/v1/runs/{_run(run_id)}/batch", json=body)
        return int(data["written"])

    def end_run(self, run_id: str, status: str = "finished") -> RunRecord:
        data = self._call("POST", f"/api/v1/runs/{_run(run_id)}/end", json={"status": status})
        return RunRecord.from_dict(data)

    def get_run(self, run_id: str) -> RunRecord:
        return RunRecord.from_dict(self._call("GET", f"/api/v1/runs/{_run(run_id)}"))

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        path = f"/api/v1/runs/{_run(run_id)}/metrics/{quote(check_key('metric', key), safe='/')}"
        return wire.points_in(self._call("GET", path)["points"])

    def search_runs(
        self,
        *,
        project: str,
        experiments: list[str] | None = None,
        filter: str | None = None,
        order_by: list[str] | None = None,
        limit: int = 1000,
        page_token: str | None = None,
    ) -> RunPage:
        params = {
            "experiment": experiments or None,
            "filter": filter,
            "order_by": order_by or None,
            "limit": limit,
            "page_token": page_token,
        }
        data = self._call(
            "GET", f"/api/v1/projects/{_name('project', project)}/runs", params=params
        )
        return wire.run_page_in(data)

    # artifacts ---------------------------------------------------------------------------
    def _artifact_url(self, run_id: str, path: str) -> str:
        # Checked here as well as on the server: an http client would normalise '..' away.
        logical = check_logical_path(path)
        return f"/api/v1/runs/{_run(run_id)}/artifacts/{quote(logical, safe='/')}"

    def log_artifact(
        self, run_id: str, path: str, local_file: str | os.PathLike[str]
    ) -> ArtifactInfo:
        return wire.artifact_in(self._put_file(self._artifact_url(run_id, path), local_file))

    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]:
        rows = self._call(
            "GET", f"/api/v1/runs/{_run(run_id)}/artifacts", params={"prefix": prefix}
        )
        return [wire.artifact_in(a) for a in rows]

    def download_artifact(self, run_id: str, path: str, dest: str | os.PathLike[str]) -> Path:
        what = f"artifact {path!r} of run {run_id}"
        return self._get_file(self._artifact_url(run_id, path), dest, what=what)

    # audit -------------------------------------------------------------------------------
    def audit_log(
        self,
        *,
        project: str | None = None,
        entity_kind: str | None = None,
        entity_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        params = {
            "project": project,
            "entity_kind": entity_kind,
            "entity_id": entity_id,
            "actor": actor,
            "action": action,
            "limit": limit,
        }
        return [wire.event_in(e) for e in self._call("GET", "/api/v1/audit", params=params)]

    def audit_verify(self) -> VerifyResult:
        return wire.verify_in(self._call("GET", "/api/v1/audit/verify"))

    def audit_checkpoint(self) -> Checkpoint:
        return wire.checkpoint_in(self._call("POST", "/api/v1/audit/checkpoints"))

    def storage_gc(self, *, apply: bool = False, grace: str = DEFAULT_GRACE) -> GcReport:
        body = {"apply": apply, "grace": grace}
        return wire.gc_in(self._call("POST", "/api/v1/storage/gc", json=body))

    # pipelines ---------------------------------------------------------------------------


def _params(values: dict[str, Any] | None) -> dict[str, str]:
    # Sent in the string form the service stores, so values JSON cannot carry (NaN, Path,
    # numpy scalars) give the same result and the same errors as in embedded mode.
    return {check_key("param", k): param_value(k, v) for k, v in (values or {}).items()}


def _tags(values: dict[str, Any] | None) -> dict[str, str]:
    return {check_key("tag", k): tag_value(k, v) for k, v in (values or {}).items()}
