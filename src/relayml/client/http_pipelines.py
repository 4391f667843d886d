"""The pipeline half of the http backend, mixed into `HttpBackend`."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from relayml.client.http_transport import HttpTransport
from relayml.client.http_transport import seg as _seg
from relayml.domain.artifacts import check_digest
from relayml.domain.identity import check_name
from relayml.domain.pipelines import (
    PipelineInfo,
    PipelineRun,
    StepOutput,
    StepRun,
    StepSpec,
    check_step_name,
)
from relayml.domain.tracking import check_run_id


def _run(run_id: str) -> str:
    return _seg(check_run_id(run_id))


def _name(kind: str, value: str) -> str:
    return _seg(check_name(kind, value))


class HttpPipelines(HttpTransport):
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
        data = self._put_file(f"/api/v1/pipeline-runs/{_run(run_id)}/blobs", local_file)
        return str(data["digest"]), int(data["size"])

    def download_pipeline_blob(
        self, run_id: str, digest: str, dest: str | os.PathLike[str]
    ) -> Path:
        url = f"/api/v1/pipeline-runs/{_run(run_id)}/blobs/{_seg(check_digest(digest))}"
        what = f"blob {digest} of pipeline run {run_id}"
        return self._get_file(url, dest, what=what, expected=digest)
