"""The `deployments` area's client protocol, `DeploymentsApi`: what both backends implement (the
services bound in-process by `client.local`, REST in `client/http/deployments.py`)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Protocol

from relayml.domain.deployment_traffic import Traffic
from relayml.domain.deployments import (
    Deployment,
    DeploymentChange,
    Feedback,
    FeedbackBatch,
    FeedbackItem,
    FeedbackLabel,
    LogSegment,
    Resolution,
    TrafficRules,
)


class DeploymentsApi(Protocol):
    """`services.deployments`: deployments (a model's alias followed or a version pinned, with
    traffic rules and history), what each serves now, prediction-log segments and feedback.

    Files cross the boundary: `record_segment` takes the local Parquet file of a segment,
    uploads it (its sha256 computed from the bytes) and registers it under the logical `uri`;
    `download_segment` writes a registered segment to `dest`, verified, and returns its path.
    """

    def create(
        self,
        project: str,
        name: str,
        target: str,
        *,
        traffic: TrafficRules | None = None,
        unsafe_pickle: bool = False,
        reason: str = "",
    ) -> Deployment: ...
    def get(self, project: str, name: str) -> Deployment: ...
    def list_deployments(
        self, project: str, include_archived: bool = False
    ) -> list[Deployment]: ...
    def history(self, project: str, name: str) -> list[DeploymentChange]: ...
    def set_target(
        self, project: str, name: str, target: str, *, reason: str = ""
    ) -> Deployment: ...
    def set_traffic(
        self,
        project: str,
        name: str,
        *,
        canary: str | None = None,
        canary_percent: float = 0.0,
        shadow: str | None = None,
        sticky_key: str | None = None,
        reason: str = "",
    ) -> Deployment: ...
    def promote_canary(self, project: str, name: str, *, reason: str = "") -> Deployment: ...
    def rollback(self, project: str, name: str, *, reason: str = "") -> Deployment: ...
    def archive(self, project: str, name: str, *, reason: str = "") -> Deployment: ...
    def resolve(self, project: str, name: str) -> Resolution: ...
    def record_segment(
        self,
        project: str,
        name: str,
        segment_file: str | os.PathLike[str],
        *,
        uri: str,
        records: int,
        first_at: datetime,
        last_at: datetime,
        server_id: str,
    ) -> LogSegment: ...
    def list_segments(
        self,
        project: str,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[LogSegment]: ...
    def download_segment(
        self, project: str, name: str, segment_id: str, dest: str | os.PathLike[str]
    ) -> Path: ...
    def traffic(
        self, project: str, name: str, *, minutes: int = 60, as_of: datetime | None = None
    ) -> Traffic: ...
    def submit_feedback(
        self,
        project: str,
        name: str,
        prediction_id: str,
        *,
        label: FeedbackLabel = None,
        outcome: float | None = None,
        comment: str | None = None,
        replace: bool = False,
    ) -> Feedback: ...
    def submit_feedback_batch(
        self,
        project: str,
        name: str,
        items: list[FeedbackItem],
        *,
        replace: bool = False,
    ) -> FeedbackBatch: ...
    def list_feedback(
        self,
        project: str,
        name: str,
        *,
        prediction_ids: list[str] | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> list[Feedback]: ...
