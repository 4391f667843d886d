"""Which blobs a project may name by digest: its uploads, and what its entities refer to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, exists, or_, select

from relayml.store.sql import schema as s
from relayml.store.sql._util import upsert


class SqlBlobs:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def record_upload(self, project: str, digest: str, size: int, by: str, now: datetime) -> None:
        """Remember that `by` uploaded `digest` into `project` (the first upload is kept)."""
        row = {"project": project, "digest": digest, "size": size, "uploaded_by": by,
               "uploaded_at": now}  # fmt: skip
        upsert(self.conn, s.blob_uploads, [row], ["project", "digest"], [])

    def reachable(self, project: str, digest: str) -> bool:
        """Whether `project` uploaded the blob or one of its entities refers to it: a run's
        artifact, a pipeline step's output or logs, a dataset version's file or sketch, a model
        version's artifact or golden set, a prediction-log segment."""
        u, a, e = s.blob_uploads.c, s.artifacts.c, s.experiments.c
        st, pr = s.pipeline_steps.c, s.pipeline_runs.c
        v, d = s.dataset_versions.c, s.datasets.c
        checks = [
            exists().where(u.project == project, u.digest == digest),
            exists()
            .select_from(s.artifacts.join(s.runs).join(s.experiments))
            .where(a.digest == digest, e.project == project),
            exists()
            .select_from(s.pipeline_steps.join(s.pipeline_runs))
            .where(
                pr.project == project, or_(st.output_digest == digest, st.logs_digest == digest)
            ),
            exists()
            .select_from(s.dataset_versions.join(s.datasets))
            .where(d.project == project, or_(v.blob == digest, v.sketch_blob == digest)),
            exists()
            .select_from(s.model_versions.join(s.models))
            .where(
                s.models.c.project == project,
                or_(s.model_versions.c.digest == digest, s.model_versions.c.golden == digest),
            ),
            exists()
            .select_from(s.log_segments.join(s.deployments))
            .where(s.deployments.c.project == project, s.log_segments.c.digest == digest),
        ]
        return any(self.conn.execute(select(check)).scalar() for check in checks)
