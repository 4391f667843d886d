"""`PipelinesApi` over REST: definitions, runs, step records, the step cache and step blobs."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from relayml.client.http.transport import HttpTransport, seg
from relayml.client.http.urls import API, name_seg, project_url, run_seg
from relayml.domain.artifacts import check_digest
from relayml.domain.pipelines import (
    BackfillPlan,
    DueTrigger,
    PipelineInfo,
    PipelineRun,
    StepOutput,
    StepRun,
    StepSpec,
    check_step_name,
)
from relayml.wire.common import Stored
from relayml.wire.pipelines import (
    BackfillPlanOut,
    CachedOutputOut,
    DueTriggerOut,
    PipelineOut,
    PipelineRunOut,
    StepOutputOut,
    StepRunOut,
    StepSpecOut,
)


def _pipeline_url(project: str, name: str) -> str:
    return f"{project_url(project)}/pipelines/{name_seg('pipeline', name)}"


class HttpPipelines:
    def __init__(self, transport: HttpTransport) -> None:
        self.t = transport

    def register(
        self,
        project: str,
        name: str,
        *,
        module: str,
        schedule: str | None = None,
        params: dict[str, Any] | None = None,
        steps: list[StepSpec] | None = None,
        on_publish: list[str] | None = None,
    ) -> PipelineInfo:
        body = {
            "module": module,
            "schedule": schedule,
            "params": params or {},
            "steps": [StepSpecOut.from_domain(s).model_dump() for s in steps or []],
            "on_publish": on_publish or [],
        }
        found = self.t.call("PUT", _pipeline_url(project, name), json=body)
        return PipelineOut.model_validate(found).to_domain()

    def list_pipelines(
        self, project: str | None = None, *, scheduled: bool = False
    ) -> list[PipelineInfo]:
        params = {"project": project, "scheduled": scheduled or None}
        rows = self.t.call("GET", f"{API}/pipelines", params=params)
        return [PipelineOut.model_validate(p).to_domain() for p in rows]

    def get_pipeline(self, project: str, name: str) -> PipelineInfo:
        found = self.t.call("GET", _pipeline_url(project, name))
        return PipelineOut.model_validate(found).to_domain()

    def pause(self, project: str, name: str, reason: str) -> PipelineInfo:
        found = self.t.call(
            "POST", f"{_pipeline_url(project, name)}/pause", json={"reason": reason}
        )
        return PipelineOut.model_validate(found).to_domain()

    def resume(self, project: str, name: str) -> PipelineInfo:
        found = self.t.call("POST", f"{_pipeline_url(project, name)}/resume", json={})
        return PipelineOut.model_validate(found).to_domain()

    def backfill_plan(
        self,
        project: str,
        pipeline: str,
        start: datetime | str,
        end: datetime | str,
        *,
        every: str | None = None,
        rerun: bool = False,
    ) -> BackfillPlan:
        params = {
            "start": start.isoformat() if isinstance(start, datetime) else start,
            "end": end.isoformat() if isinstance(end, datetime) else end,
            "every": every,
            "rerun": rerun,
        }
        url = f"{_pipeline_url(project, pipeline)}/backfill-plan"
        return BackfillPlanOut.model_validate(self.t.call("GET", url, params=params)).to_domain()

    def start_run(
        self,
        project: str,
        pipeline: str,
        *,
        trigger: str = "manual",
        executor: str = "local",
        params: dict[str, Any] | None = None,
        steps: list[StepSpec] | None = None,
        scheduled_for: datetime | None = None,
        dataset: str | None = None,
        loop_run: str | None = None,
    ) -> PipelineRun:
        body = {
            "steps": [StepSpecOut.from_domain(s).model_dump() for s in steps or []],
            "trigger": trigger,
            "executor": executor,
            "params": params or {},
            "scheduled_for": scheduled_for.isoformat() if scheduled_for else None,
            "dataset": dataset,
            "loop_run": loop_run,
        }
        found = self.t.call("POST", f"{_pipeline_url(project, pipeline)}/runs", json=body)
        return PipelineRunOut.model_validate(found).to_domain()

    def due_triggers(self, project: str | None = None) -> list[DueTrigger]:
        rows = self.t.call("GET", f"{API}/pipeline-triggers/due", params={"project": project})
        return [DueTriggerOut.model_validate(r).to_domain() for r in rows]

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
            "output": StepOutputOut.from_domain(output).model_dump() if output else None,
            "logs_digest": logs_digest,
            "error": error,
            "user_traceback": user_traceback,
        }
        path = f"{API}/pipeline-runs/{run_seg(run_id)}/steps/{seg(check_step_name(step))}"
        return StepRunOut.model_validate(self.t.call("PUT", path, json=body)).to_domain()

    def finish_run(self, run_id: str, status: str, error: str | None = None) -> PipelineRun:
        body = {"status": status, "error": error}
        found = self.t.call("POST", f"{API}/pipeline-runs/{run_seg(run_id)}/finish", json=body)
        return PipelineRunOut.model_validate(found).to_domain()

    def list_runs(
        self, project: str, pipeline: str | None = None, limit: int = 50
    ) -> list[PipelineRun]:
        params = {"pipeline": pipeline, "limit": limit}
        rows = self.t.call("GET", f"{project_url(project)}/pipeline-runs", params=params)
        return [PipelineRunOut.model_validate(r).to_domain() for r in rows]

    def get_run(self, run_id: str) -> PipelineRun:
        found = self.t.call("GET", f"{API}/pipeline-runs/{run_seg(run_id)}")
        return PipelineRunOut.model_validate(found).to_domain()

    def find_cached(self, project: str, cache_key: str) -> StepOutput | None:
        path = f"{project_url(project)}/pipeline-cache/{seg(check_digest(cache_key))}"
        return CachedOutputOut.model_validate(self.t.call("GET", path)).to_domain()

    def put_blob(self, run_id: str, local_file: str | os.PathLike[str]) -> tuple[str, int]:
        found = self.t.put_file(f"{API}/pipeline-runs/{run_seg(run_id)}/blobs", local_file)
        stored = Stored.model_validate(found)
        return stored.digest, stored.size

    def download_blob(self, run_id: str, digest: str, dest: str | os.PathLike[str]) -> Path:
        url = f"{API}/pipeline-runs/{run_seg(run_id)}/blobs/{seg(check_digest(digest))}"
        what = f"blob {digest} of pipeline run {run_id}"
        return self.t.get_file(url, dest, what=what, expected=digest)
