"""Which blobs the metadata still points at: what garbage collection must keep."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Column, Connection, select

from relayml.store.sql import schema as s

# Every column that holds a blob's sha256.
_REFERENCES: tuple[Column[str], ...] = (
    s.artifacts.c.digest,
    s.dataset_versions.c.blob,
    s.dataset_versions.c.sketch_blob,
    s.pipeline_steps.c.output_digest,
    s.pipeline_steps.c.logs_digest,
    s.model_versions.c.digest,
    s.model_versions.c.golden,
    s.log_segments.c.digest,
    s.monitors.c.reference_digest,
    s.monitor_references.c.digest,
)
_BATCH = 500


class SqlStorage:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def referenced(self, digests: Iterable[str]) -> set[str]:
        """The subset of `digests` some run, dataset version, pipeline step, model version or
        prediction-log segment refers to."""
        wanted = list(dict.fromkeys(digests))
        found: set[str] = set()
        for i in range(0, len(wanted), _BATCH):
            batch = wanted[i : i + _BATCH]
            for col in _REFERENCES:
                q = select(col).where(col.in_(batch)).distinct()
                found.update(str(d) for (d,) in self.conn.execute(q))
        return found
