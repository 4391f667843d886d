"""What the SDK and CLI talk to: a `Backend` with one narrow protocol per area.

Each area protocol carries its service's method names and signatures without the principal
(`backend.datasets.publish(...)` is `services.datasets.publish(who, ...)`), so a reader follows
a call from the SDK to the service by name. `client.local` binds the services to these
protocols generically and checks the signatures when it binds; `client.http` implements them
over REST, one module per area. Methods where a file crosses the boundary take or return a
local path instead of a stream of bytes; their docstrings say so. `relayml.testing` runs the
same contract suite against every backend.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, get_type_hints

from relayml.domain.audit import AuditAction, AuditEvent, Checkpoint, EntityKind, VerifyResult
from relayml.domain.datasets import DatasetInfo, DatasetVersion, LineageNode, TrustedCheck
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
from relayml.domain.identity import DEFAULT_PROJECT, IssuedToken, Project, TokenInfo, User
from relayml.domain.loops import CanaryEvidence, Loop, LoopRun, LoopSpec
from relayml.domain.models import (
    AliasMove,
    InboxItem,
    ModelCard,
    ModelInfo,
    ModelVersion,
    PromotionRequest,
    Requirement,
)
from relayml.domain.monitors import (
    Alert,
    Check,
    Monitor,
    MonitorReport,
    ProcessResult,
    Rollup,
    Window,
)
from relayml.domain.notifications import Delivery, IssuedWebhook, Webhook
from relayml.domain.pipelines import (
    BackfillPlan,
    DueTrigger,
    PipelineInfo,
    PipelineRun,
    StepOutput,
    StepRun,
    StepSpec,
)
from relayml.domain.policy import Policy
from relayml.domain.roles import RoleInfo, RolesDocument
from relayml.domain.storage import DEFAULT_GRACE, GcReport
from relayml.domain.tracking import ArtifactInfo, Experiment, MetricPoint, RunPage, RunRecord


class IdentityApi(Protocol):
    """`services.identity`: projects, users, tokens and role grants."""

    def whoami(self) -> dict[str, Any]: ...
    def create_project(self, name: str, description: str = "") -> Project: ...
    def ensure_project(self, name: str) -> Project: ...
    def list_projects(self) -> list[Project]: ...
    def create_user(
        self,
        name: str,
        roles: list[str],
        project: str = DEFAULT_PROJECT,
        expires: str | float | timedelta | None = None,
    ) -> IssuedToken: ...
    def issue_token(
        self, user: str, expires: str | float | timedelta | None = None
    ) -> IssuedToken: ...
    def list_tokens(self, user: str | None = None) -> list[TokenInfo]: ...
    def revoke_token(self, token_id: str) -> TokenInfo: ...
    def set_user_active(self, user: str, active: bool) -> User: ...
    def list_users(self, project: str | None = None) -> list[User]: ...
    def grant(self, user: str, role: str, project: str) -> None: ...
    def revoke(self, user: str, role: str, project: str) -> None: ...


class TrackingApi(Protocol):
    """`services.tracking`: experiments, runs, params, metrics, tags and search."""

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


class ArtifactsApi(Protocol):
    """`services.artifacts`: a run's files.

    Files cross the boundary: `log_artifact` takes a local file (the service, a stream of
    chunks) and `download_artifact` writes to `dest` and returns its path (the service returns
    the bytes); both are verified against the file's sha256.
    """

    def log_artifact(
        self, run_id: str, path: str, local_file: str | os.PathLike[str]
    ) -> ArtifactInfo: ...
    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]: ...
    def download_artifact(self, run_id: str, path: str, dest: str | os.PathLike[str]) -> Path: ...


class AuditApi(Protocol):
    """`services.audit`: the hash-chained, MACed audit trail and its checkpoints."""

    def log(
        self,
        *,
        project: str | None = None,
        entity_kind: EntityKind | str | None = None,
        entity_id: str | None = None,
        actor: str | None = None,
        action: AuditAction | str | None = None,
        limit: int = 100,
        since: datetime | None = None,
        until: datetime | None = None,
        before: int | None = None,
    ) -> list[AuditEvent]: ...
    def verify(self, project: str | None = None) -> VerifyResult: ...
    def checkpoint(self) -> Checkpoint: ...


class StorageApi(Protocol):
    """`services.storage`: the artifact store's housekeeping (admins only)."""

    def gc(self, *, apply: bool = False, grace: str | float = DEFAULT_GRACE) -> GcReport: ...


class DatasetsApi(Protocol):
    """`services.datasets`: versioned datasets, quarantine and lineage.

    Files cross the boundary: `publish` takes the local Parquet file the caller wrote and
    uploads it before publishing (the service's `upload`, then `publish` of that blob);
    `download` writes the version's Parquet file to `dest` and returns its path.
    """

    def publish(
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
    def get(self, project: str, ref: str, allow_quarantined: bool = False) -> DatasetVersion: ...
    def download(
        self,
        project: str,
        ref: str,
        dest: str | os.PathLike[str],
        allow_quarantined: bool = False,
    ) -> Path: ...
    def sketch(self, project: str, ref: str, allow_quarantined: bool = False) -> dict[str, Any]: ...
    def list_datasets(self, project: str) -> list[DatasetInfo]: ...
    def versions(self, project: str, name: str) -> list[DatasetVersion]: ...
    def lineage(self, project: str, ref: str) -> LineageNode: ...
    def release(self, project: str, ref: str, reason: str) -> DatasetVersion: ...
    def quarantine(self, project: str, ref: str, reason: str) -> DatasetVersion: ...
    def deprecate(self, project: str, ref: str, reason: str) -> DatasetVersion: ...
    def undeprecate(self, project: str, ref: str, reason: str) -> DatasetVersion: ...
    def installed_checks(self) -> dict[str, str]: ...
    def list_trusted_checks(self, project: str) -> list[TrustedCheck]: ...
    def trust_check(self, project: str, ref: str, reason: str) -> TrustedCheck: ...
    def untrust_check(self, project: str, ref: str, reason: str) -> None: ...
    def use(self, run_id: str, ref: str, allow_quarantined: bool = False) -> DatasetVersion: ...


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


class NotificationsApi(Protocol):
    """`services.notifications`: a project's webhooks and what was delivered to them."""

    def add_webhook(self, project: str, url: str) -> IssuedWebhook: ...
    def list_webhooks(self, project: str) -> list[Webhook]: ...
    def remove_webhook(self, project: str, webhook_id: str) -> None: ...
    def deliveries(
        self, project: str, webhook_id: str | None = None, limit: int = 100
    ) -> list[Delivery]: ...
    def redeliver(self, project: str, delivery_id: str) -> Delivery: ...


class ModelsApi(Protocol):
    """`services.models`: the registry — versions, aliases, promotion requests, policy.

    Files cross the boundary: `register` takes the local artifact file (written by
    `relayml.flavors.save_model`), and its golden-set file when given
    (`relayml.flavors.golden.build_golden`), and uploads them before registering (the
    service's `upload`, then `register` of those blobs); `download` and `download_golden`
    write the version's artifact or golden set to `dest`, verified against its sha256, and
    return its path.
    """

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
    ) -> ModelVersion: ...
    def get(self, project: str, ref: str) -> ModelVersion: ...
    def download(self, project: str, ref: str, dest: str | os.PathLike[str]) -> Path: ...
    def download_golden(self, project: str, ref: str, dest: str | os.PathLike[str]) -> Path: ...
    def list_models(self, project: str) -> list[ModelInfo]: ...
    def versions(self, project: str, name: str) -> list[ModelVersion]: ...
    def history(self, project: str, name: str, alias: str | None = None) -> list[AliasMove]: ...
    def set_alias(self, project: str, ref: str, alias: str, reason: str = "") -> ModelVersion: ...
    def set_tags(self, project: str, ref: str, tags: dict[str, str]) -> ModelVersion: ...
    def archive(self, project: str, ref: str) -> ModelVersion: ...
    def card(self, project: str, name: str) -> ModelCard: ...
    def set_card(self, project: str, name: str, fields: dict[str, str]) -> ModelCard: ...
    def set_requirement(
        self,
        project: str,
        name: str,
        metric: str,
        min: float | None = None,
        max: float | None = None,
    ) -> Requirement: ...
    def requirements(self, project: str, name: str) -> list[Requirement]: ...
    def policy(self, project: str) -> Policy: ...
    def apply_policy(self, project: str, text: str) -> Policy: ...
    def evaluate(
        self,
        project: str,
        ref: str,
        dataset: str,
        target: str,
        slices: list[str] | None = None,
    ) -> dict[str, Any]: ...
    def report(self, project: str, ref: str) -> dict[str, Any]: ...
    def promote(
        self,
        project: str,
        ref: str,
        alias: str,
        note: str = "",
        dataset: str | None = None,
        target: str | None = None,
    ) -> PromotionRequest: ...
    def get_request(self, request_id: str) -> PromotionRequest: ...
    def list_requests(
        self,
        project: str,
        state: str | None = None,
        model: str | None = None,
        limit: int = 100,
    ) -> list[PromotionRequest]: ...
    def approve(
        self, request_id: str, note: str = "", override_reason: str | None = None
    ) -> PromotionRequest: ...
    def reject(self, request_id: str, reason: str) -> PromotionRequest: ...
    def withdraw(self, request_id: str, reason: str = "") -> PromotionRequest: ...
    def comment(self, request_id: str, text: str) -> PromotionRequest: ...
    def inbox(self, project: str | None = None) -> list[InboxItem]: ...


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


class RolesApi(Protocol):
    """`services.roles`: custom roles and changes to the built-in ones, for the installation
    (project None) or one project."""

    def list_roles(self, project: str | None = None) -> list[RoleInfo]: ...
    def get(self, name: str, project: str | None = None) -> RoleInfo: ...
    def history(self, project: str | None = None, limit: int = 100) -> list[RolesDocument]: ...
    def apply(self, text: str, project: str | None = None) -> RolesDocument: ...


class LoopsApi(Protocol):
    """`services.loops`: loops (alert -> retrain -> evaluation -> approval -> canary ->
    promotion) and their runs. `advance` and `decide` are what a runner calls each tick
    (`relayml.loops.tick`, which also runs the pipelines)."""

    def attach(self, project: str, name: str, spec: LoopSpec) -> Loop: ...
    def detach(self, project: str, name: str, reason: str) -> Loop: ...
    def get(self, project: str, name: str) -> Loop: ...
    def list_loops(self, project: str) -> list[Loop]: ...
    def start(self, project: str, name: str, reason: str) -> LoopRun: ...
    def on_alert(
        self, project: str, deployment: str, kind: str, alert: str, summary: str
    ) -> list[LoopRun]: ...
    def get_run(self, run_id: str) -> LoopRun: ...
    def list_runs(
        self, project: str, loop: str | None = None, limit: int = 100
    ) -> list[LoopRun]: ...
    def stop(self, run_id: str, reason: str) -> LoopRun: ...
    def advance(self, project: str) -> list[LoopRun]: ...
    def decide(self, run_id: str, evidence: CanaryEvidence | None) -> LoopRun: ...


class MonitorsApi(Protocol):
    """`services.monitors`: monitors on deployments (windows of the prediction log, drift,
    performance with and without labels), their processing, model-shift checks, and alerts."""

    def create(
        self,
        project: str,
        deployment: str,
        *,
        name: str | None = None,
        window: str | int = "1h",
        reference: str | None = None,
        target: str | None = None,
        min_rows: int = 100,
        alert_after: str = "3/4",
        label_horizon: str | float = "30d",
        grace: str | float = "5m",
        owner: str = "ml_engineer",
        since: datetime | None = None,
        endpoint: str | None = None,
        check_every: str | float = "5m",
        no_traffic_after: int | None = None,
        evaluation: str | None = None,
    ) -> Monitor: ...
    def set_endpoint(
        self,
        project: str,
        name: str,
        endpoint: str | None,
        *,
        check_every: str | float | None = None,
    ) -> Monitor: ...
    def get(self, project: str, name: str) -> Monitor: ...
    def list_monitors(self, project: str, include_archived: bool = False) -> list[Monitor]: ...
    def pause(self, project: str, name: str, *, reason: str = "") -> Monitor: ...
    def resume(self, project: str, name: str, *, reason: str = "") -> Monitor: ...
    def archive(self, project: str, name: str, *, reason: str = "") -> Monitor: ...
    def history(
        self,
        project: str,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        last: int | None = None,
    ) -> list[Window]: ...
    def rollups(
        self,
        project: str,
        name: str,
        *,
        period: str = "day",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Rollup]: ...
    def report(
        self,
        project: str,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> MonitorReport: ...
    def process(self, project: str, name: str) -> ProcessResult: ...
    def record_check(
        self, project: str, monitor: str, kind: str, passed: bool, details: dict[str, Any]
    ) -> Check: ...
    def checks(self, project: str, name: str, *, limit: int = 100) -> list[Check]: ...
    def list_alerts(
        self,
        project: str,
        *,
        monitor: str | None = None,
        include_resolved: bool = False,
        limit: int = 100,
    ) -> list[Alert]: ...
    def get_alert(self, project: str, alert_id: str) -> Alert: ...
    def ack_alert(self, project: str, alert_id: str, *, note: str = "") -> Alert: ...
    def comment_alert(self, project: str, alert_id: str, text: str) -> Alert: ...
    def resolve_alert(self, project: str, alert_id: str, *, reason: str) -> Alert: ...


class Backend(Protocol):
    """One caller's connection: local (services in-process) or http (REST)."""

    user: str
    kind: str  # "local" or "http"
    identity: IdentityApi
    tracking: TrackingApi
    artifacts: ArtifactsApi
    audit: AuditApi
    storage: StorageApi
    datasets: DatasetsApi
    pipelines: PipelinesApi
    notifications: NotificationsApi
    models: ModelsApi
    deployments: DeploymentsApi
    roles: RolesApi
    loops: LoopsApi
    monitors: MonitorsApi

    def close(self) -> None: ...


# area name (the same in every layer) -> its client protocol, as declared on `Backend`
AREAS: dict[str, type[Any]] = {
    name: hint for name, hint in get_type_hints(Backend).items() if name not in ("user", "kind")
}
