"""What every part of the model registry's service shares: the model and version lookups, the
project's policy, and sending request events to the project's webhooks."""

from __future__ import annotations

from relayml.domain.identity import check_name
from relayml.domain.models import (
    ModelVersion,
)
from relayml.domain.policy import DEFAULT, Policy, parse_policy
from relayml.domain.refs import Ref, parse_ref
from relayml.errors import (
    NotFound,
)
from relayml.services.base import ServiceBase
from relayml.services.denials import DenialLimiter
from relayml.services.notifications import NotificationService, Pending
from relayml.store.artifacts import ArtifactStore
from relayml.store.base import MetadataStore, Transaction


def model_ref(ref: object) -> Ref:
    return parse_ref(ref, kind="model", aliases=True)


class RegistryBase(ServiceBase):
    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        notifications: NotificationService | None = None,
        *,
        denials: DenialLimiter | None = None,
    ) -> None:
        super().__init__(store, artifacts, denials)
        self.notifications = notifications or NotificationService(store, artifacts)

    # helpers -----------------------------------------------------------------------------
    def _model(self, tx: Transaction, project: str, name: str) -> int:
        mid = tx.models.model_id(project, check_name("model", name))
        if mid is None:
            raise NotFound(
                f"no model {name!r} in project {project!r}; list them with: "
                f"relay models ls -p {project}"
            )
        return mid

    def _find(self, tx: Transaction, project: str, ref: str) -> tuple[int, ModelVersion]:
        r = model_ref(ref)
        self._model(tx, project, r.name)
        found = tx.models.find_version(project, r.name, r.version, r.alias)
        if found is None:
            if r.alias is not None:
                raise NotFound(
                    f"no version of {r.name!r} holds alias {r.alias!r}; see its aliases with: "
                    f"relay models show {r.name}"
                )
            if r.version is None:
                raise NotFound(f"model {r.name!r} has no version that is not archived")
            raise NotFound(
                f"model {r.name!r} has no version {r.version}; see them with: "
                f"relay models versions {r.name}"
            )
        return found

    def _policy(self, tx: Transaction, project: str) -> Policy:
        found = tx.models.policy(project)
        if found is None:
            return DEFAULT
        version, text, _, _ = found
        return parse_policy(text, version)

    def _send(self, pending: list[Pending]) -> None:
        self.notifications.dispatch(pending)
