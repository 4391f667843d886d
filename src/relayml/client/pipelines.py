"""The `pipelines` area's client protocol, `PipelinesApi`: what both backends implement (the
services bound in-process by `client.local`, REST in `client/http/pipelines.py`)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from relayml.domain.pipelines import (
    BackfillPlan,
    DueTrigger,
    PipelineInfo,
    PipelineRun,
    StepOutput,
    StepRun,
    StepSpec,
)


class PipelinesApi(Protocol):
    """`services.pipelines`: the steps run where the caller runs; their state is recorded here.

    Files cross the boundary: `put_blob` takes a local file (the service, a stream of chunks)
    and `download_blob` writes to `dest` and returns its path (the service returns the bytes).
    """

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
    ) -> PipelineInfo: ...
    def list_pipelines(
        self, project: str | None = None, *, scheduled: bool = False
    ) -> list[PipelineInfo]: ...
    def get_pipeline(self, project: str, name: str) -> PipelineInfo: ...
    def pause(self, project: str, name: str, reason: str) -> PipelineInfo: ...
    def resume(self, project: str, name: str) -> PipelineInfo: ...
    def backfill_plan(
        self,
        project: str,
        pipeline: str,
        start: datetime | str,
        end: datetime | str,
        *,
        every: str | None = None,
        rerun: bool = False,
    ) -> BackfillPlan: ...
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
    ) -> PipelineRun: ...
    def due_triggers(self, project: str | None = None) -> list[DueTrigger]: ...
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
    ) -> StepRun: ...
    def finish_run(self, run_id: str, status: str, error: str | None = None) -> PipelineRun: ...
    def list_runs(
        self, project: str, pipeline: str | None = None, limit: int = 50
    ) -> list[PipelineRun]: ...
    def get_run(self, run_id: str) -> PipelineRun: ...
    def find_cached(self, project: str, cache_key: str) -> StepOutput | None: ...
    def put_blob(self, run_id: str, local_file: str | os.PathLike[str]) -> tuple[str, int]: ...
    def download_blob(self, run_id: str, digest: str, dest: str | os.PathLike[str]) -> Path: ...
