"""The embedded backend: calls the service layer in-process as one principal."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from relayml.domain.artifacts import CHUNK
from relayml.domain.audit import AuditEvent, Checkpoint, VerifyResult
from relayml.domain.datasets import DatasetInfo, DatasetVersion, LineageNode
from relayml.domain.identity import IssuedToken, Principal, Project, TokenInfo, User
from relayml.domain.notifications import Delivery, IssuedWebhook, Webhook
from relayml.domain.pipelines import PipelineInfo, PipelineRun, StepOutput, StepRun
from relayml.domain.storage import DEFAULT_GRACE, GcReport
from relayml.domain.tracking import ArtifactInfo, Experiment, MetricPoint, RunPage, RunRecord
from relayml.services import Services


class LocalBackend:
    kind = "local"

    def __init__(self, services: Services, principal: Principal) -> None:
        self.services = services
        self.principal = principal
        self.user = principal.user

    def whoami(self) -> dict[str, Any]:
        return self.services.identity.whoami(self.principal)

    def create_project(self, name: str, description: str = "") -> Project:
        return self.services.identity.create_project(self.principal, name, description)

    def ensure_project(self, name: str) -> Project:
        return self.services.identity.ensure_project(self.principal, name)

    def list_projects(self) -> list[Project]:
        return self.services.identity.list_projects(self.principal)

    def create_user(
        self, name: str, roles: list[str], project: str, expires: str | None = None
    ) -> IssuedToken:
        return self.services.identity.create_user(self.principal, name, roles, project, expires)

    def issue_token(self, user: str, expires: str | None = None) -> IssuedToken:
        return self.services.identity.issue_token(self.principal, user, expires)

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        return self.services.identity.list_tokens(self.principal, user)

    def revoke_token(self, token_id: str) -> TokenInfo:
        return self.services.identity.revoke_token(self.principal, token_id)

    def set_user_active(self, user: str, active: bool) -> User:
        return self.services.identity.set_user_active(self.principal, user, active)

    def list_users(self, project: str | None = None) -> list[User]:
        return self.services.identity.list_users(self.principal, project)

    def grant(self, user: str, role: str, project: str) -> None:
        self.services.identity.grant(self.principal, user, role, project)

    def revoke(self, user: str, role: str, project: str) -> None:
        self.services.identity.revoke(self.principal, user, role, project)

    def list_experiments(self, project: str) -> list[Experiment]:
        return self.services.tracking.list_experiments(self.principal, project)

    def create_run(self, **kwargs: Any) -> RunRecord:
        return self.services.tracking.create_run(self.principal, **kwargs)

    def log_batch(
        self,
        run_id: str,
        *,
        params: dict[str, Any] | None = None,
        metrics: list[MetricPoint] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> int:
        return self.services.tracking.log_batch(
            self.principal, run_id, params=params, metrics=metrics, tags=tags
        )

    def end_run(self, run_id: str, status: str = "finished") -> RunRecord:
        return self.services.tracking.end_run(self.principal, run_id, status)

    def get_run(self, run_id: str) -> RunRecord:
        return self.services.tracking.get_run(self.principal, run_id)

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        return self.services.tracking.metric_history(self.principal, run_id, key)

    def search_runs(self, **kwargs: Any) -> RunPage:
        return self.services.tracking.search_runs(self.principal, **kwargs)

    def log_artifact(
        self, run_id: str, path: str, local_file: str | os.PathLike[str]
    ) -> ArtifactInfo:
        with open(local_file, "rb") as fh:
            chunks = iter(lambda: fh.read(CHUNK), b"")
            return self.services.artifacts.log_artifact(self.principal, run_id, path, chunks)

    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]:
        return self.services.artifacts.list_artifacts(self.principal, run_id, prefix)

    def download_artifact(self, run_id: str, path: str, dest: str | os.PathLike[str]) -> Path:
        info = self.services.artifacts.find(self.principal, run_id, path)
        return self.services.artifact_store.download(info.digest, dest)

    def audit_log(self, **kwargs: Any) -> list[AuditEvent]:
        return self.services.audit.log(self.principal, **kwargs)

    def audit_verify(self) -> VerifyResult:
        return self.services.audit.verify(self.principal)

    def audit_checkpoint(self) -> Checkpoint:
        return self.services.audit.checkpoint(self.principal)

    def storage_gc(self, *, apply: bool = False, grace: str = DEFAULT_GRACE) -> GcReport:
        return self.services.storage.gc(self.principal, apply=apply, grace=grace)

    def register_pipeline(self, project: str, name: str, **kwargs: Any) -> PipelineInfo:
        return self.services.pipelines.register(self.principal, project, name, **kwargs)

    def list_pipelines(
        self, project: str | None = None, *, scheduled: bool = False
    ) -> list[PipelineInfo]:
        return self.services.pipelines.list_pipelines(self.principal, project, scheduled=scheduled)

    def start_pipeline_run(self, project: str, pipeline: str, **kwargs: Any) -> PipelineRun:
        return self.services.pipelines.start_run(self.principal, project, pipeline, **kwargs)

    def record_step(self, run_id: str, step: str, **kwargs: Any) -> StepRun:
        return self.services.pipelines.record_step(self.principal, run_id, step, **kwargs)

    def finish_pipeline_run(
        self, run_id: str, status: str, error: str | None = None
    ) -> PipelineRun:
        return self.services.pipelines.finish_run(self.principal, run_id, status, error)

    def list_pipeline_runs(
        self, project: str, pipeline: str | None = None, limit: int = 50
    ) -> list[PipelineRun]:
        return self.services.pipelines.list_runs(self.principal, project, pipeline, limit)

    def get_pipeline_run(self, run_id: str) -> PipelineRun:
        return self.services.pipelines.get_run(self.principal, run_id)

    def find_cached_step(self, project: str, cache_key: str) -> StepOutput | None:
        return self.services.pipelines.find_cached(self.principal, project, cache_key)

    def put_pipeline_blob(self, run_id: str, local_file: str | os.PathLike[str]) -> tuple[str, int]:
        with open(local_file, "rb") as fh:
            chunks = iter(lambda: fh.read(CHUNK), b"")
            return self.services.pipelines.put_blob(self.principal, run_id, chunks)

    def download_pipeline_blob(
        self, run_id: str, digest: str, dest: str | os.PathLike[str]
    ) -> Path:
        self.services.pipelines.open_blob(self.principal, run_id, digest)  # checks access
        return self.services.artifact_store.download(digest, dest)

    def publish_dataset(
        self,
        project: str,
        name: str,
        parquet_file: str | os.PathLike[str],
        **kwargs: Any,
    ) -> DatasetVersion:
        data = self.services.datasets
        with open(parquet_file, "rb") as fh:
            blob, _ = data.upload(self.principal, project, iter(lambda: fh.read(CHUNK), b""))
        return data.publish(self.principal, project, name, blob, **kwargs)

    def get_dataset(
        self, project: str, ref: str, allow_quarantined: bool = False
    ) -> DatasetVersion:
        return self.services.datasets.get(self.principal, project, ref, allow_quarantined)

    def download_dataset(
        self,
        project: str,
        ref: str,
        dest: str | os.PathLike[str],
        allow_quarantined: bool = False,
    ) -> Path:
        version = self.services.datasets.get(self.principal, project, ref, allow_quarantined)
        return self.services.artifact_store.download(version.blob, dest)

    def dataset_sketch(
        self, project: str, ref: str, allow_quarantined: bool = False
    ) -> dict[str, Any]:
        return self.services.datasets.sketch(self.principal, project, ref, allow_quarantined)

    def list_datasets(self, project: str) -> list[DatasetInfo]:
        return self.services.datasets.list_datasets(self.principal, project)

    def dataset_versions(self, project: str, name: str) -> list[DatasetVersion]:
        return self.services.datasets.versions(self.principal, project, name)

    def dataset_lineage(self, project: str, ref: str) -> LineageNode:
        return self.services.datasets.lineage(self.principal, project, ref)

    def release_dataset(self, project: str, ref: str, reason: str) -> DatasetVersion:
        return self.services.datasets.release(self.principal, project, ref, reason)

    def use_dataset(self, run_id: str, ref: str, allow_quarantined: bool = False) -> DatasetVersion:
        return self.services.datasets.use(self.principal, run_id, ref, allow_quarantined)

    def add_webhook(self, project: str, url: str) -> IssuedWebhook:
        return self.services.notifications.add_webhook(self.principal, project, url)

    def list_webhooks(self, project: str) -> list[Webhook]:
        return self.services.notifications.list_webhooks(self.principal, project)

    def remove_webhook(self, project: str, webhook_id: str) -> None:
        self.services.notifications.remove_webhook(self.principal, project, webhook_id)

    def webhook_deliveries(
        self, project: str, webhook_id: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        return self.services.notifications.deliveries(self.principal, project, webhook_id, limit)

    def close(self) -> None:
        self.services.close()
