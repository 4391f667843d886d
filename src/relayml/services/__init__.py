"""The service layer: the single door every interface (SDK, REST, CLI, UI) goes through."""

from __future__ import annotations

from pathlib import Path

from relayml.domain.tracking import LOST_AFTER_SECONDS
from relayml.notifications.sealing import SecretBox
from relayml.services.artifacts import ArtifactService
from relayml.services.audit import AuditService
from relayml.services.datasets import DatasetService
from relayml.services.denials import DenialLimiter
from relayml.services.deployments import DeploymentsService
from relayml.services.idempotency import IdempotencyService
from relayml.services.identity import IdentityService
from relayml.services.loops import LoopService
from relayml.services.models import ModelService
from relayml.services.monitors import MonitorsService
from relayml.services.notifications import NotificationService
from relayml.services.operations import OperationsService
from relayml.services.pipelines import PipelineService
from relayml.services.roles import RoleService
from relayml.services.scheduling import SchedulingService
from relayml.services.sessions import SessionService, idle_limit
from relayml.services.storage import StorageService
from relayml.services.token_cache import DEFAULT_TTL_SECONDS, TokenCache
from relayml.services.tracking import TrackingService
from relayml.store.artifacts import ArtifactStore
from relayml.store.audit_anchor import AuditAnchor
from relayml.store.base import MetadataStore


class Services:
    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        auth_cache_seconds: float = DEFAULT_TTL_SECONDS,
        run_lost_after: float | None = None,
        secrets: SecretBox | None = None,
        ui_idle_minutes: float | None = None,
    ) -> None:
        self.store = store
        self.artifact_store = artifacts
        d = DenialLimiter()  # one per process: every service counts denials into it
        cache = TokenCache(ttl=auth_cache_seconds)
        self.identity = IdentityService(store, artifacts, cache, denials=d)
        self.audit = AuditService(store, artifacts, d)
        self.tracking = TrackingService(
            store, artifacts, d, lost_after=run_lost_after or LOST_AFTER_SECONDS
        )
        self.artifacts = ArtifactService(store, artifacts, d)
        self.notifications = NotificationService(store, artifacts, d, box=secrets)
        self.pipelines = PipelineService(store, artifacts, self.notifications, denials=d)
        self.datasets = DatasetService(store, artifacts, d)
        self.models = ModelService(store, artifacts, self.notifications, denials=d)
        self.deployments = DeploymentsService(store, artifacts, self.notifications, denials=d)
        self.loops = LoopService(
            store, artifacts, self.notifications, self.models, self.deployments, denials=d
        )
        self.roles = RoleService(store, artifacts, d)
        self.monitors = MonitorsService(store, artifacts, self.notifications, denials=d)
        self.idempotency = IdempotencyService(store, artifacts, d)
        self.scheduling = SchedulingService(store, artifacts, d)
        self.storage = StorageService(store, artifacts, d)
        # the web UI's sign-ins, ended after `ui_idle_minutes` without a request
        self.sessions = SessionService(store, artifacts, d, idle_limit(ui_idle_minutes))
        self.operations = OperationsService(store, artifacts, d)  # the server's own gauges

    def flush_denials(self) -> None:
        """Write the counts of denials still in their window (at shutdown)."""
        self.audit.write_denials(self.audit.denials.flush())

    def schema_revision(self) -> str | None:
        """The metadata database's migration revision (None if it cannot say)."""
        return self.store.schema_revision()

    def close(self) -> None:
        try:
            self.flush_denials()
        finally:
            self.store.dispose()


def _anchor(
    key_file: Path | None, key: str | None, checkpoints: str | None, every: int
) -> AuditAnchor | None:
    if key_file is None:
        return None
    target = checkpoints or str(key_file.parent / "audit-checkpoints.jsonl")
    return AuditAnchor.open(key_file, key, target, every)


def open_services(
    database_url: str,
    artifact_uri: str,
    auth_cache_seconds: float = DEFAULT_TTL_SECONDS,
    *,
    audit_key_file: Path | None = None,
    audit_key: str | None = None,
    audit_checkpoints: str | None = None,
    audit_checkpoint_every: int = 1000,
    statement_timeout: float | None = None,
    run_lost_after: float | None = None,
    secret_key_file: Path | None = None,
    secret_key: str | None = None,
    ui_idle_minutes: float | None = None,
) -> Services:
    """The services over these stores, the audit trail anchored by the key in `audit_key_file`
    (or `audit_key`) with checkpoints to `audit_checkpoints` (docs/governance.md), every
    database statement stopped after `statement_timeout` seconds (None: no limit), a running
    run read as lost after `run_lost_after` seconds without a heartbeat (None: the default,
    domain.tracking.LOST_AFTER_SECONDS), webhook signing secrets sealed with `secret_key`
    (RELAY_SECRET_KEY) or the keys in `secret_key_file`. Every real entry point passes them
    (from `Settings`); without an audit key events go unMACed and `relay audit verify` says
    so; without a secret key no webhook can be added, and none is sent unsigned. A web UI
    session ends after `ui_idle_minutes` without a request (None:
    domain.identity.SESSION_IDLE_AFTER)."""
    from relayml.notifications.keys import load_box
    from relayml.store.sql.store import SqlStore

    idle_limit(ui_idle_minutes)  # a bad setting is refused before a store is opened
    box = load_box(secret_key_file, secret_key) if secret_key_file or secret_key else None
    anchor = _anchor(audit_key_file, audit_key, audit_checkpoints, audit_checkpoint_every)
    store = SqlStore(database_url, anchor, statement_timeout=statement_timeout)
    return Services(
        store,
        ArtifactStore(artifact_uri),
        auth_cache_seconds,
        run_lost_after,
        box,
        ui_idle_minutes=ui_idle_minutes,
    )


def rotate_audit_key(key_file: Path) -> str:
    """Append a new signing key to `key_file` (old keys stay to verify); its id."""
    from relayml.store.audit_anchor import rotate_key

    return rotate_key(key_file)


def upgrade_database(
    database_url: str,
    *,
    audit_key_file: Path | None = None,
    audit_key: str | None = None,
    audit_checkpoints: str | None = None,
    audit_checkpoint_every: int = 1000,
) -> tuple[str, str | None, str]:
    """Migrate the metadata database to the newest schema: where it is (password hidden), its
    revision before and after. The audit key MACs an existing trail on the way (0009)."""
    from relayml.store.sql.engine import make_engine, upgrade

    anchor = _anchor(audit_key_file, audit_key, audit_checkpoints, audit_checkpoint_every)
    engine = make_engine(database_url)
    try:
        before, after = upgrade(engine, anchor)
    finally:
        engine.dispose()
    return engine.url.render_as_string(hide_password=True), before, after
