"""Run artifacts: content-addressed blobs plus a per-run index of logical paths."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from relayml.domain.artifacts import check_digest, check_logical_path
from relayml.domain.audit import EntityKind
from relayml.domain.identity import Principal
from relayml.domain.roles import Action
from relayml.domain.tracking import ArtifactInfo, check_run_id
from relayml.errors import Conflict, NotFound
from relayml.services.base import ServiceBase, utcnow
from relayml.store.base import Transaction


class ArtifactService(ServiceBase):
    def log_artifact(
        self,
        who: Principal,
        run_id: str,
        path: str,
        chunks: Iterable[bytes],
        expected_digest: str | None = None,
    ) -> ArtifactInfo:
        """Store the bytes, then record `path` → digest for the run, audited."""
        logical = check_logical_path(path)
        check_run_id(run_id)
        if expected_digest is not None:
            check_digest(expected_digest)
        with self.read() as tx:
            self.require_run_writer(tx, who, Action.ARTIFACT_WRITE, run_id, "artifacts")
            _check_not_replaced(tx, run_id, logical, expected_digest)
        # Blobs are written before the record: a failure in between leaves an unreferenced
        # blob (content-addressed, harmless), never a record pointing at missing bytes.
        digest, size = self.artifacts.put_chunks(chunks, expected=expected_digest)
        info = ArtifactInfo(logical, digest, size)
        with self.write() as tx:
            project, roles = self.require_run_writer(
                tx, who, Action.ARTIFACT_WRITE, run_id, "artifacts"
            )
            if _check_not_replaced(tx, run_id, logical, digest):
                return info  # the same bytes at the same path again: already recorded
            tx.tracking.add_artifacts(run_id, [info], utcnow())
            payload = {"path": logical, "digest": digest, "size": size}
            self.record(
                tx, who, roles, Action.ARTIFACT_WRITE, project, EntityKind.RUN, run_id, payload
            )
        return info

    def list_artifacts(
        self, who: Principal, run_id: str, prefix: str | None = None
    ) -> list[ArtifactInfo]:
        check_run_id(run_id)
        if prefix:
            check_logical_path(prefix.rstrip("/") or ".")
        with self.read() as tx:
            project = tx.tracking.run_project(run_id)
            if project is None:
                raise NotFound(f"no run {run_id!r}")
            self.require(tx, who, Action.ARTIFACT_READ, project, EntityKind.RUN, run_id)
            return tx.tracking.list_artifacts(run_id, prefix)

    def find(self, who: Principal, run_id: str, path: str) -> ArtifactInfo:
        logical = check_logical_path(path)
        for info in self.list_artifacts(who, run_id, logical):
            if info.path == logical:
                return info
        raise NotFound(
            f"run {run_id} has no artifact {logical!r}; list them with: relay artifacts ls {run_id}"
        )

    def download_artifact(
        self, who: Principal, run_id: str, path: str
    ) -> tuple[ArtifactInfo, Iterator[bytes]]:
        info = self.find(who, run_id, path)
        return info, self.artifacts.iter_verified(info.digest)


def _check_not_replaced(tx: Transaction, run_id: str, path: str, digest: str | None) -> bool:
    """True if `path` already holds these bytes; Conflict if it holds others."""
    existing = tx.tracking.artifact_digest(run_id, path)
    if existing is None:
        return False
    if digest is not None and existing != digest:
        raise Conflict(
            f"artifact {path!r} of run {run_id} already holds sha256 {existing}; an artifact, "
            "once written, is not replaced. Log it under another path, or start a new run"
        )
    return digest is not None
