"""The interface the SDK and CLI talk to: local (in-process services) or http (REST).

Both implement the same methods with the same meaning; `relayml.testing.contract` checks it.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from relayml.domain.audit import AuditEvent, Checkpoint, VerifyResult
from relayml.domain.datasets import DatasetInfo, DatasetVersion, LineageNode
from relayml.domain.identity import IssuedToken, Project, TokenInfo, User
from relayml.domain.notifications import Delivery, IssuedWebhook, Webhook
from relayml.domain.pipelines import PipelineInfo, PipelineRun, StepOutput, StepRun, StepSpec
from relayml.domain.storage import DEFAULT_GRACE, GcReport
from relayml.domain.tracking import ArtifactInfo, Experiment, MetricPoint, RunPage, RunRecord


class Backend(Protocol):
    user: str
    kind: str  # "local" or "http"

    def whoami(self) -> dict[str, Any]: ...
    def create_project(self, name: str, description: str = "") -> Project: ...
    def ensure_project(self, name: str) -> Project: ...
    def list_projects(self) -> list[Project]: ...
    def create_user(
        self, name: str, roles: list[str], project: str, expires: str | None = None
    ) -> IssuedToken: ...
    def issue_token(self, user: str, expires: str | None = None) -> IssuedToken: ...
    def list_tokens(self, user: str | None = None) -> list[TokenInfo]: ...
    def revoke_token(self, token_id: str) -> TokenInfo: ...
    def set_user_active(self, user: str, active: bool) -> User: ...
    def list_users(self, project: str | None = None) -> list[User]: ...
    def grant(self, user: str, role: str, project: str) -> None: ...
    def revoke(self, user: str, role: str, project: str) -> None: ...

    def list_experiments(self, project: str) -> list[Experiment]: ...
    def create_run(
        self,
        *,
        project: str,
        experiment: str,
        name: str | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        parent_id: str | None = None,
    ) -> RunRecord: ...
    def log_batch(
        self,
        run_id: str,
        *,
        params: dict[str, Any] | None = None,
        metrics: list[MetricPoint] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> int: ...
    def end_run(self, run_id: str, status: str = "finished") -> RunRecord: ...
    def get_run(self, run_id: str) -> RunRecord: ...
    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]: ...
    def search_runs(
        self,
        *,
        project: str,
        experiments: list[str] | None = None,
        filter: str | None = None,
        order_by: list[str] | None = None,
        limit: int = 1000,
        page_token: str | None = None,
    ) -> RunPage: ...

    def log_artifact(
        self, run_id: str, path: str, local_file: str | os.PathLike[str]
    ) -> ArtifactInfo: ...
    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]: ...
    def download_artifact(self, run_id: str, path: str, dest: str | os.PathLike[str]) -> Path: ...

    def audit_log(
        self,
        *,
        project: str | None = None,
        entity_kind: str | None = None,
        entity_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]: ...
    def audit_verify(self) -> VerifyResult: ...
    def audit_checkpoint(self) -> Checkpoint: ...
    def storage_gc(self, *, apply: bool = False, grace: str = DEFAULT_GRACE) -> GcReport: ...

    # pipelines: the steps run where the caller runs; their state is recorded here
    def register_pipeline(
        self,
        project: str,
        name: str,
        *,
        module: str,
        schedule: str | None = None,
        params: dict[str, Any] | None = None,
        steps: list[StepSpec] | None = None,
    ) -> PipelineInfo: ...
    def list_pipelines(
        self, project: str | None = None, *, scheduled: bool = False
    ) -> list[PipelineInfo]: ...
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
    ) -> PipelineRun: ...
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
    def finish_pipeline_run(
        self, run_id: str, status: str, error: str | None = None
    ) -> PipelineRun: ...
    def list_pipeline_runs(
        self, project: str, pipeline: str | None = None, limit: int = 50
    ) -> list[PipelineRun]: ...
    def get_pipeline_run(self, run_id: str) -> PipelineRun: ...
    def find_cached_step(self, project: str, cache_key: str) -> StepOutput | None: ...
    def put_pipeline_blob(
        self, run_id: str, local_file: str | os.PathLike[str]
    ) -> tuple[str, int]: ...
    def download_pipeline_blob(
        self, run_id: str, digest: str, dest: str | os.PathLike[str]
    ) -> Path: ...

    # datasets: the caller writes the Parquet file; the service validates, profiles, registers
    def publish_dataset(
        self,
        project: str,
        name: str,
        parquet_file: str | os.PathLike[str],
        *,
        contract: str | None = None,
        description: str = "",
        source: str = "",
        parents: list[str] | None = None,
        producer: dict[str, str] | None = None,
    ) -> DatasetVersion: ...
    def get_dataset(
        self, project: str, ref: str, allow_quarantined: bool = False
    ) -> DatasetVersion: ...
    def download_dataset(
        self,
        project: str,
        ref: str,
        dest: str | os.PathLike[str],
        allow_quarantined: bool = False,
    ) -> Path: ...
    def dataset_sketch(
        self, project: str, ref: str, allow_quarantined: bool = False
    ) -> dict[str, Any]: ...
    def list_datasets(self, project: str) -> list[DatasetInfo]: ...
    def dataset_versions(self, project: str, name: str) -> list[DatasetVersion]: ...
    def dataset_lineage(self, project: str, ref: str) -> LineageNode: ...
    def release_dataset(self, project: str, ref: str, reason: str) -> DatasetVersion: ...
    def use_dataset(
        self, run_id: str, ref: str, allow_quarantined: bool = False
    ) -> DatasetVersion: ...
    # webhooks
    def add_webhook(self, project: str, url: str) -> IssuedWebhook: ...
    def list_webhooks(self, project: str) -> list[Webhook]: ...
    def remove_webhook(self, project: str, webhook_id: str) -> None: ...
    def webhook_deliveries(
        self, project: str, webhook_id: str | None = None, limit: int = 100
    ) -> list[Delivery]: ...
    def close(self) -> None: ...
