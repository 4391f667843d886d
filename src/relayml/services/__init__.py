"""The service layer: the single door every interface (SDK, REST, CLI, UI) goes through."""

from __future__ import annotations

from relayml.services.artifacts import ArtifactService
from relayml.services.audit import AuditService
from relayml.services.datasets import DatasetService
from relayml.services.identity import IdentityService
from relayml.services.notifications import NotificationService
from relayml.services.pipelines import PipelineService
from relayml.services.scheduling import SchedulingService
from relayml.services.token_cache import DEFAULT_TTL_SECONDS, TokenCache
from relayml.services.tracking import TrackingService
from relayml.store.artifacts import ArtifactStore
from relayml.store.base import MetadataStore


class Services:
    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        auth_cache_seconds: float = DEFAULT_TTL_SECONDS,
    ) -> None:
        self.store = store
        self.artifact_store = artifacts
        self.identity = IdentityService(store, artifacts, TokenCache(ttl=auth_cache_seconds))
        self.audit = AuditService(store, artifacts)
        self.tracking = TrackingService(store, artifacts)
        self.artifacts = ArtifactService(store, artifacts)
        self.notifications = NotificationService(store, artifacts)
        self.pipelines = PipelineService(store, artifacts, self.notifications)
        self.datasets = DatasetService(store, artifacts)
        self.scheduling = SchedulingService(store, artifacts)

    def schema_revision(self) -> str | None:
        """The metadata database's migration revision (None if it cannot say)."""
        return self.store.schema_revision()

    def close(self) -> None:
        self.store.dispose()


def open_services(
    database_url: str, artifact_uri: str, auth_cache_seconds: float = DEFAULT_TTL_SECONDS
) -> Services:
    from relayml.store.sql.store import SqlStore

    return Services(SqlStore(database_url), ArtifactStore(artifact_uri), auth_cache_seconds)


def upgrade_database(database_url: str) -> tuple[str, str | None, str]:
    """Migrate the metadata database to the newest schema: where it is (password hidden), its
    revision before and after."""
    from relayml.store.sql.engine import make_engine, upgrade

    engine = make_engine(database_url)
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    return engine.url.render_as_string(hide_password=True), before, after
