"""The interface the SDK and CLI talk to: local (in-process services) or http (REST).

Both implement the same methods with the same meaning; `relayml.testing.contract` checks it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from relayml.domain.audit import AuditEvent, VerifyResult
from relayml.domain.identity import IssuedToken, Project, User
from relayml.domain.tracking import ArtifactInfo, Experiment, MetricPoint, RunPage, RunRecord


class Backend(Protocol):
    user: str
    kind: str  # "local" or "http"

    def whoami(self) -> dict[str, Any]: ...
    def create_project(self, name: str, description: str = "") -> Project: ...
    def ensure_project(self, name: str) -> Project: ...
    def list_projects(self) -> list[Project]: ...
    def create_user(self, name: str, roles: list[str], project: str) -> IssuedToken: ...
    def issue_token(self, user: str) -> IssuedToken: ...
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
    def close(self) -> None: ...
