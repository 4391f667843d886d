"""Datasets, their versions, lineage edges and the runs that used them, in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select, update

from relayml.domain.datasets import (
    DatasetInfo,
    DatasetStatus,
    DatasetVersion,
    RunUse,
    TrustedCheck,
)
from relayml.store.sql import schema as s
from relayml.store.sql._util import upsert, utc, utc_or_none

_USABLE = [DatasetStatus.VALID.value, DatasetStatus.RELEASED.value]

_VERSION_COLUMNS = (
    s.dataset_versions,
    s.datasets.c.project,
    s.datasets.c.name.label("dataset_name"),
)


class SqlDatasets:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # datasets ----------------------------------------------------------------------------
    def dataset_id(self, project: str, name: str) -> int | None:
        d = s.datasets.c
        row = self.conn.execute(select(d.id).where(d.project == project, d.name == name)).first()
        return int(row[0]) if row else None

    def ensure_dataset(
        self, project: str, name: str, description: str, by: str, now: datetime
    ) -> int:
        found = self.dataset_id(project, name)
        if found is not None:
            return found
        row = {
            "project": project,
            "name": name,
            "description": description,
            "created_at": now,
            "created_by": by,
        }
        upsert(self.conn, s.datasets, [row], ["project", "name"], [])
        found = self.dataset_id(project, name)
        assert found is not None
        return found

    def list_datasets(self, project: str) -> list[DatasetInfo]:
        d, v = s.datasets.c, s.dataset_versions.c
        u = s.dataset_versions.alias("usable").c
        usable = (
            select(func.max(u.version))
            .where(u.dataset_id == d.id, u.status.in_(_USABLE), u.deprecated_at.is_(None))
            .correlate(s.datasets)
            .scalar_subquery()
        )
        q = (
            select(s.datasets, func.count(v.id).label("n"), usable.label("latest"))
            .select_from(s.datasets.outerjoin(s.dataset_versions, v.dataset_id == d.id))
            .where(d.project == project)
            .group_by(d.id)
            .order_by(d.name)
        )
        return [
            DatasetInfo(
                project=row.project,
                name=row.name,
                description=row.description,
                created_at=utc(row.created_at),
                created_by=row.created_by,
                versions=int(row.n),
                latest=int(row.latest) if row.latest is not None else None,
            )
            for row in self.conn.execute(q)
        ]

    # versions ----------------------------------------------------------------------------
    def _select_versions(self) -> Any:
        return select(*_VERSION_COLUMNS).select_from(s.dataset_versions.join(s.datasets))

    def find_version(
        self, project: str, name: str, version: int | None, include_quarantined: bool
    ) -> tuple[int, DatasetVersion] | None:
        """A version by number, or the newest one (usable only, unless told otherwise)."""
        d, v = s.datasets.c, s.dataset_versions.c
        q = self._select_versions().where(d.project == project, d.name == name)
        if version is not None:
            q = q.where(v.version == version)
        else:
            if not include_quarantined:
                q = q.where(v.status.in_(_USABLE), v.deprecated_at.is_(None))
            q = q.order_by(v.version.desc()).limit(1)
        row = self.conn.execute(q).first()
        return (int(row.id), self._version(row)) if row else None

    def version_by_digest(self, dataset_id: int, digest: str) -> tuple[int, DatasetVersion] | None:
        v = s.dataset_versions.c
        q = self._select_versions().where(v.dataset_id == dataset_id, v.digest == digest)
        row = self.conn.execute(q).first()
        return (int(row.id), self._version(row)) if row else None

    def versions(self, project: str, name: str) -> list[DatasetVersion]:
        d, v = s.datasets.c, s.dataset_versions.c
        q = self._select_versions().where(d.project == project, d.name == name).order_by(v.version)
        return [self._version(row) for row in self.conn.execute(q)]

    def next_version(self, dataset_id: int) -> int:
        v = s.dataset_versions.c
        row = self.conn.execute(
            select(func.max(v.version)).where(v.dataset_id == dataset_id)
        ).first()
        return int(row[0] or 0) + 1 if row else 1

    def insert_version(
        self, dataset_id: int, version: DatasetVersion, parent_ids: Sequence[int]
    ) -> int:
        producer = version.producer or {}
        row = {
            "dataset_id": dataset_id,
            "version": version.version,
            "digest": version.digest,
            "blob": version.blob,
            "size": version.size,
            "rows": version.rows,
            "schema": version.schema,
            "profile": version.profile,
            "sketch_blob": version.sketch_blob,
            "quality": version.quality,
            "contract": version.contract,
            "contract_digest": version.contract_digest,
            "status": version.status.value,
            "description": version.description,
            "source": version.source,
            "producer_run": producer.get("pipeline_run"),
            "producer_step": producer.get("step"),
            "created_at": version.created_at,
            "created_by": version.created_by,
            "released_at": version.released_at,
            "released_by": version.released_by,
            "release_reason": version.release_reason,
            "quarantined_at": version.quarantined_at,
            "quarantined_by": version.quarantined_by,
            "quarantine_reason": version.quarantine_reason,
            "deprecated_at": version.deprecated_at,
            "deprecated_by": version.deprecated_by,
            "deprecation_reason": version.deprecation_reason,
        }
        result = self.conn.execute(s.dataset_versions.insert().values(**row))
        pk = result.inserted_primary_key
        assert pk is not None
        version_id = int(pk[0])
        if parent_ids:
            rows = [{"child_id": version_id, "parent_id": p} for p in dict.fromkeys(parent_ids)]
            self.conn.execute(s.dataset_parents.insert(), rows)
        return version_id

    def release(self, version_id: int, by: str, now: datetime, reason: str) -> None:
        self.conn.execute(
            update(s.dataset_versions)
            .where(s.dataset_versions.c.id == version_id)
            .values(
                status=DatasetStatus.RELEASED.value,
                released_at=now,
                released_by=by,
                release_reason=reason,
            )
        )

    def quarantine(self, version_id: int, by: str, now: datetime, reason: str) -> None:
        self.conn.execute(
            update(s.dataset_versions)
            .where(s.dataset_versions.c.id == version_id)
            .values(
                status=DatasetStatus.QUARANTINED.value,
                quarantined_at=now,
                quarantined_by=by,
                quarantine_reason=reason,
            )
        )

    def deprecate(
        self, version_id: int, by: str | None, now: datetime | None, reason: str | None
    ) -> None:
        """Mark a version deprecated (by, now and reason given) or not deprecated (all None)."""
        self.conn.execute(
            update(s.dataset_versions)
            .where(s.dataset_versions.c.id == version_id)
            .values(deprecated_at=now, deprecated_by=by, deprecation_reason=reason)
        )

    # trusted custom checks ---------------------------------------------------------------
    def trusted_checks(self, project: str) -> list[TrustedCheck]:
        c = s.trusted_checks.c
        q = select(s.trusted_checks).where(c.project == project).order_by(c.ref)
        return [
            TrustedCheck(r.project, r.ref, r.reason, r.added_by, utc(r.added_at))
            for r in self.conn.execute(q)
        ]

    def trust_check(self, check: TrustedCheck) -> None:
        row = {
            "project": check.project,
            "ref": check.ref,
            "reason": check.reason,
            "added_by": check.added_by,
            "added_at": check.added_at,
        }
        self.conn.execute(s.trusted_checks.insert().values(**row))

    def untrust_check(self, project: str, ref: str) -> bool:
        c = s.trusted_checks.c
        done = self.conn.execute(
            s.trusted_checks.delete().where(c.project == project, c.ref == ref)
        )
        return bool(done.rowcount)

    # lineage -----------------------------------------------------------------------------
    def add_use(self, version_id: int, run_id: str, by: str, now: datetime) -> None:
        row = {"version_id": version_id, "run_id": run_id, "used_at": now, "used_by": by}
        upsert(self.conn, s.dataset_uses, [row], ["version_id", "run_id"], [])

    def parents(self, version_id: int) -> list[tuple[int, DatasetVersion]]:
        p = s.dataset_parents.c
        q = self._select_versions().where(
            s.dataset_versions.c.id.in_(select(p.parent_id).where(p.child_id == version_id))
        )
        return [(int(r.id), self._version(r)) for r in self.conn.execute(q)]

    def children(self, version_id: int) -> list[tuple[int, DatasetVersion]]:
        p = s.dataset_parents.c
        q = self._select_versions().where(
            s.dataset_versions.c.id.in_(select(p.child_id).where(p.parent_id == version_id))
        )
        return [(int(r.id), self._version(r)) for r in self.conn.execute(q)]

    def runs_using(self, version_id: int) -> list[RunUse]:
        u, r, e = s.dataset_uses.c, s.runs.c, s.experiments.c
        q = (
            select(r.id, r.name, e.name.label("experiment"), r.user, u.used_at)
            .select_from(s.dataset_uses.join(s.runs).join(s.experiments))
            .where(u.version_id == version_id)
            .order_by(u.used_at, r.id)
        )
        return [
            RunUse(row.id, row.name, row.experiment, row.user, utc(row.used_at))
            for row in self.conn.execute(q)
        ]

    def datasets_used_by(self, run_id: str) -> list[str]:
        u, v, d = s.dataset_uses.c, s.dataset_versions.c, s.datasets.c
        q = (
            select(d.name, v.version)
            .select_from(s.dataset_uses.join(s.dataset_versions).join(s.datasets))
            .where(u.run_id == run_id)
            .order_by(d.name, v.version)
        )
        return [f"{name}@{version}" for name, version in self.conn.execute(q)]

    def _parent_refs(self, version_id: int) -> list[str]:
        p, v, d = s.dataset_parents.c, s.dataset_versions.c, s.datasets.c
        q = (
            select(d.name, v.version)
            .select_from(
                s.dataset_parents.join(s.dataset_versions, v.id == p.parent_id).join(s.datasets)
            )
            .where(p.child_id == version_id)
            .order_by(d.name, v.version)
        )
        return [f"{name}@{version}" for name, version in self.conn.execute(q)]

    def _version(self, row: Row[Any]) -> DatasetVersion:
        producer = None
        if row.producer_run:
            producer = {"pipeline_run": row.producer_run, "step": row.producer_step or ""}
        return DatasetVersion(
            project=row.project,
            name=row.dataset_name,
            version=int(row.version),
            digest=row.digest,
            blob=row.blob,
            size=int(row.size),
            rows=int(row.rows),
            schema=list(row.schema),
            profile=dict(row.profile),
            sketch_blob=row.sketch_blob,
            quality=row.quality,
            contract=row.contract,
            contract_digest=row.contract_digest,
            status=DatasetStatus(row.status),
            description=row.description,
            source=row.source,
            parents=self._parent_refs(int(row.id)),
            producer=producer,
            created_at=utc(row.created_at),
            created_by=row.created_by,
            released_at=utc_or_none(row.released_at),
            released_by=row.released_by,
            release_reason=row.release_reason,
            quarantined_at=utc_or_none(row.quarantined_at),
            quarantined_by=row.quarantined_by,
            quarantine_reason=row.quarantine_reason,
            deprecated_at=utc_or_none(row.deprecated_at),
            deprecated_by=row.deprecated_by,
            deprecation_reason=row.deprecation_reason,
        )
