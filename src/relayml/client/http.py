"""The http backend: the same `Backend` interface as `LocalBackend`, over Relay's REST API.

One keep-alive httpx client per backend. Errors come back as the same `RelayError` subclasses
the services raise; an unreachable server is `ServerUnavailable`. Artifacts stream both ways
and are checked against their sha256 at each end.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from relayml.api import wire
from relayml.client.http_data import HttpDatasets
from relayml.domain.audit import AuditEvent, VerifyResult
from relayml.domain.identity import IssuedToken, Project, User, check_name, parse_role
from relayml.domain.pipelines import (
    PipelineInfo,
    PipelineRun,
    StepOutput,
    StepRun,
    StepSpec,
    check_step_name,
)
from relayml.domain.tracking import (
    ArtifactInfo,
    Experiment,
    MetricPoint,
    RunPage,
    RunRecord,
    check_key,
    check_run_id,
    param_value,
    tag_value,
)
from relayml.errors import (
    IntegrityError,
    InvalidInput,
    RelayError,
    ServerUnavailable,
    from_dict,
)
from relayml.store.artifacts import CHUNK, check_digest, check_logical_path

_TIMEOUT = httpx.Timeout(300.0, connect=10.0)


def _seg(value: str) -> str:
    """One URL path segment: '/' and everything else special is escaped."""
    return quote(value, safe="")


# Ids and names are checked here with the service's own checks before they go into a URL: a
# server decodes '%2F' before routing and an http client drops '..' segments, so a malformed
# value would otherwise reach another route instead of being refused as the service refuses it.
def _run(run_id: str) -> str:
    return _seg(check_run_id(run_id))


def _name(kind: str, value: str) -> str:
    return _seg(check_name(kind, value))


class HttpBackend(HttpDatasets):
    kind = "http"

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url.rstrip("/")
        headers = {"User-Agent": "relayml-http"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            self._http = httpx.Client(base_url=self.url, headers=headers, timeout=_TIMEOUT)
        except (httpx.InvalidURL, ValueError) as exc:
            raise InvalidInput(
                f"invalid server URL {url!r} ({exc}); use http://host:port"
            ) from None
        try:
            # Fail fast on a wrong URL or a missing/bad token, at relay.init(server=...).
            self.user: str = self.whoami()["user"]
        except BaseException:
            self._http.close()
            raise

    # transport ---------------------------------------------------------------------------
    def _unavailable(self, exc: httpx.TransportError) -> ServerUnavailable:
        return ServerUnavailable(
            f"cannot reach the Relay server at {self.url} ({type(exc).__name__}: {exc}); "
            "check RELAY_SERVER_URL and that `relay server` is running there",
            url=self.url,
        )

    def _raise_for(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        response.read()
        try:
            payload = orjson.loads(response.content)["error"]
            err = from_dict(payload)
        except (orjson.JSONDecodeError, KeyError, TypeError):
            text = response.text.strip()[:200] or response.reason_phrase
            cls = ServerUnavailable if response.status_code in (502, 503, 504) else RelayError
            err = cls(
                f"{response.request.method} {response.request.url} failed with HTTP "
                f"{response.status_code}: {text}; is {self.url} a Relay server?",
                status=response.status_code,
            )
        raise err

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        content = orjson.dumps(json) if json is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        if params:
            params = {k: v for k, v in params.items() if v is not None}
        try:
            response = self._http.request(
                method, path, content=content, headers=headers, params=params
            )
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from None
        self._raise_for(response)
        if response.status_code == 204 or not response.content:
            return None
        return orjson.loads(response.content)

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

    def create_user(self, name: str, roles: list[str], project: str) -> IssuedToken:
        body = {"name": name, "roles": list(roles), "project": project}
        return wire.token_in(self._call("POST", "/api/v1/users", json=body))

    def issue_token(self, user: str) -> IssuedToken:
        return wire.token_in(self._call("POST", f"/api/v1/users/{_name('user', user)}/tokens"))

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
            "metrics": wire.points_out(metrics or []),
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
        url = self._artifact_url(run_id, path)
        digest = _sha256_file(local_file)
        headers = {wire.DIGEST_HEADER: digest, "Content-Type": "application/octet-stream"}
        headers["Content-Length"] = str(os.path.getsize(local_file))
        with open(local_file, "rb") as fh:
            try:
                response = self._http.put(url, content=_chunks(fh), headers=headers)
            except httpx.TransportError as exc:
                raise self._unavailable(exc) from None
        self._raise_for(response)
        return wire.artifact_in(orjson.loads(response.content))

    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]:
        rows = self._call(
            "GET", f"/api/v1/runs/{_run(run_id)}/artifacts", params={"prefix": prefix}
        )
        return [wire.artifact_in(a) for a in rows]

    def download_artifact(self, run_id: str, path: str, dest: str | os.PathLike[str]) -> Path:
        url = self._artifact_url(run_id, path)
        dest_path = Path(dest)
        dest_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest_path.with_name(f".{dest_path.name}.{uuid.uuid4().hex}.part")
        try:
            with self._http.stream("GET", url) as response:
                self._raise_for(response)
                expected = response.headers.get(wire.DIGEST_HEADER, "")
                h = hashlib.sha256()
                with open(tmp, "wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        h.update(chunk)
                        out.write(chunk)
            if h.hexdigest() != expected:
                raise IntegrityError(
                    f"artifact {path!r} of run {run_id} arrived with sha256 {h.hexdigest()}, "
                    f"not the recorded {expected or '(none sent)'}; download it again",
                    path=path,
                )
            os.replace(tmp, dest_path)
        except httpx.TransportError as exc:
            if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                raise self._unavailable(exc) from None
            raise IntegrityError(
                f"the download of artifact {path!r} of run {run_id} was cut off "
                f"({type(exc).__name__}: {exc}); nothing was written, try again",
                path=path,
            ) from None
        finally:
            tmp.unlink(missing_ok=True)
        return dest_path

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

    # pipelines ---------------------------------------------------------------------------
    def register_pipeline(
        self,
        project: str,
        name: str,
        *,
        module: str,
        schedule: str | None = None,
        params: dict[str, Any] | None = None,
        steps: list[StepSpec] | None = None,
    ) -> PipelineInfo:
        body = {
            "module": module,
            "schedule": schedule,
            "params": params or {},
            "steps": [s.to_dict() for s in steps or []],
        }
        path = f"/api/v1/projects/{_name('project', project)}/pipelines/{_name('pipeline', name)}"
        return PipelineInfo.from_dict(self._call("PUT", path, json=body))

    def list_pipelines(
        self, project: str | None = None, *, scheduled: bool = False
    ) -> list[PipelineInfo]:
        params = {"project": project, "scheduled": scheduled or None}
        rows = self._call("GET", "/api/v1/pipelines", params=params)
        return [PipelineInfo.from_dict(p) for p in rows]

    def start_pipeline_run(
        self,
        project: str,
        pipeline: str,
        *,
        steps: list[StepSpec],
        trigger: str = "manual",
        executor: str = "local",
        params: dict[str, Any] | None = None,
        scheduled_for: datetime | None = None,
    ) -> PipelineRun:
        body = {
            "steps": [s.to_dict() for s in steps],
            "trigger": trigger,
            "executor": executor,
            "params": params or {},
            "scheduled_for": scheduled_for.isoformat() if scheduled_for else None,
        }
        path = (
            f"/api/v1/projects/{_name('project', project)}/pipelines/"
            f"{_name('pipeline', pipeline)}/runs"
        )
        return PipelineRun.from_dict(self._call("POST", path, json=body))

    def record_step(
        self,
        run_id: str,
        step: str,
        *,
        status: str,
        attempts: int = 0,
        cache_key: str | None = None,
        cached: bool = False,
        output: StepOutput | None = None,
        logs_digest: str | None = None,
        error: str | None = None,
        user_traceback: str | None = None,
    ) -> StepRun:
        body = {
            "status": status,
            "attempts": attempts,
            "cache_key": cache_key,
            "cached": cached,
            "output": output.to_dict() if output else None,
            "logs_digest": logs_digest,
            "error": error,
            "user_traceback": user_traceback,
        }
        path = f"/api/v1/pipeline-runs/{_run(run_id)}/steps/{_seg(check_step_name(step))}"
        return StepRun.from_dict(self._call("PUT", path, json=body))

    def finish_pipeline_run(
        self, run_id: str, status: str, error: str | None = None
    ) -> PipelineRun:
        body = {"status": status, "error": error}
        data = self._call("POST", f"/api/v1/pipeline-runs/{_run(run_id)}/finish", json=body)
        return PipelineRun.from_dict(data)

    def list_pipeline_runs(
        self, project: str, pipeline: str | None = None, limit: int = 50
    ) -> list[PipelineRun]:
        params = {"pipeline": pipeline, "limit": limit}
        rows = self._call(
            "GET", f"/api/v1/projects/{_name('project', project)}/pipeline-runs", params=params
        )
        return [PipelineRun.from_dict(r) for r in rows]

    def get_pipeline_run(self, run_id: str) -> PipelineRun:
        return PipelineRun.from_dict(self._call("GET", f"/api/v1/pipeline-runs/{_run(run_id)}"))

    def find_cached_step(self, project: str, cache_key: str) -> StepOutput | None:
        path = (
            f"/api/v1/projects/{_name('project', project)}/pipeline-cache/"
            f"{_seg(check_digest(cache_key))}"
        )
        data = self._call("GET", path)
        return StepOutput.from_dict(data["output"]) if data.get("output") else None

    def put_pipeline_blob(self, run_id: str, local_file: str | os.PathLike[str]) -> tuple[str, int]:
        digest = _sha256_file(local_file)
        headers = {wire.DIGEST_HEADER: digest, "Content-Type": "application/octet-stream"}
        headers["Content-Length"] = str(os.path.getsize(local_file))
        with open(local_file, "rb") as fh:
            try:
                response = self._http.put(
                    f"/api/v1/pipeline-runs/{_run(run_id)}/blobs",
                    content=_chunks(fh),
                    headers=headers,
                )
            except httpx.TransportError as exc:
                raise self._unavailable(exc) from None
        self._raise_for(response)
        data = orjson.loads(response.content)
        return str(data["digest"]), int(data["size"])

    def download_pipeline_blob(
        self, run_id: str, digest: str, dest: str | os.PathLike[str]
    ) -> Path:
        url = f"/api/v1/pipeline-runs/{_run(run_id)}/blobs/{_seg(check_digest(digest))}"
        dest_path = Path(dest)
        dest_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest_path.with_name(f".{dest_path.name}.{uuid.uuid4().hex}.part")
        try:
            with self._http.stream("GET", url) as response:
                self._raise_for(response)
                h = hashlib.sha256()
                with open(tmp, "wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        h.update(chunk)
                        out.write(chunk)
            if h.hexdigest() != digest:
                raise IntegrityError(
                    f"blob {digest} of pipeline run {run_id} arrived with sha256 "
                    f"{h.hexdigest()}; download it again"
                )
            os.replace(tmp, dest_path)
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from None
        finally:
            tmp.unlink(missing_ok=True)
        return dest_path

    def close(self) -> None:
        self._http.close()


def _params(values: dict[str, Any] | None) -> dict[str, str]:
    # Sent in the string form the service stores, so values JSON cannot carry (NaN, Path,
    # numpy scalars) give the same result and the same errors as in embedded mode.
    return {check_key("param", k): param_value(k, v) for k, v in (values or {}).items()}


def _tags(values: dict[str, Any] | None) -> dict[str, str]:
    return {check_key("tag", k): tag_value(k, v) for k, v in (values or {}).items()}


def _chunks(fh: Any) -> Iterator[bytes]:
    while chunk := fh.read(CHUNK):
        yield chunk


def _sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in _chunks(fh):
            h.update(chunk)
    return h.hexdigest()
