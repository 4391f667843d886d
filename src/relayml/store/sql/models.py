"""The model registry in SQL: models, versions, aliases and their moves, cards, policies and
requirements; promotion requests with their reviews are `store/sql/promotions.py`, of which
`SqlModels` is composed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, or_, select, update

from relayml.domain.deployments import DeploymentStatus
from relayml.domain.models import (
    AliasMove,
    Environment,
    Flavor,
    GoldenSet,
    ModelCard,
    ModelInfo,
    ModelVersion,
    RequestState,
    Requirement,
    Signature,
    VersionStatus,
)
from relayml.store.sql import schema as s
from relayml.store.sql._util import upsert, utc
from relayml.store.sql.promotions import SqlPromotions

_VERSION_COLUMNS = (s.model_versions, s.models.c.project, s.models.c.name.label("model_name"))


class SqlModels(SqlPromotions):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # models ------------------------------------------------------------------------------
    def model_id(self, project: str, name: str) -> int | None:
        m = s.models.c
        row = self.conn.execute(select(m.id).where(m.project == project, m.name == name)).first()
        return int(row[0]) if row else None

    def ensure_model(
        self, project: str, name: str, description: str, by: str, now: datetime
    ) -> int:
        found = self.model_id(project, name)
        if found is not None:
            return found
        row = {
            "project": project,
            "name": name,
            "description": description,
            "created_at": now,
            "created_by": by,
        }
        upsert(self.conn, s.models, [row], ["project", "name"], [])
        found = self.model_id(project, name)
        assert found is not None
        return found

    def list_models(self, project: str) -> list[ModelInfo]:
        m, v = s.models.c, s.model_versions.c
        q = (
            select(s.models, func.count(v.id).label("n"), func.max(v.version).label("latest"))
            .select_from(s.models.outerjoin(s.model_versions, v.model_id == m.id))
            .where(m.project == project)
            .group_by(m.id)
            .order_by(m.name)
        )
        rows = list(self.conn.execute(q))
        aliases = self._aliases_by_model([int(r.id) for r in rows])
        return [
            ModelInfo(
                project=r.project,
                name=r.name,
                description=r.description,
                created_at=utc(r.created_at),
                created_by=r.created_by,
                versions=int(r.n),
                latest=int(r.latest) if r.latest is not None else None,
                aliases=aliases.get(int(r.id), {}),
            )
            for r in rows
        ]

    def _aliases_by_model(self, model_ids: list[int]) -> dict[int, dict[str, int]]:
        if not model_ids:
            return {}
        a, v = s.model_aliases.c, s.model_versions.c
        q = (
            select(a.model_id, a.alias, v.version)
            .select_from(s.model_aliases.join(s.model_versions, v.id == a.version_id))
            .where(a.model_id.in_(model_ids))
            .order_by(a.alias)
        )
        out: dict[int, dict[str, int]] = {}
        for mid, alias, version in self.conn.execute(q):
            out.setdefault(int(mid), {})[alias] = int(version)
        return out

    # versions ----------------------------------------------------------------------------
    def next_version(self, model_id: int) -> int:
        v = s.model_versions.c
        top = self.conn.execute(select(func.max(v.version)).where(v.model_id == model_id)).scalar()
        return int(top or 0) + 1

    def insert_version(self, model_id: int, mv: ModelVersion) -> int:
        row = {
            "model_id": model_id,
            "version": mv.version,
            "digest": mv.digest,
            "size": mv.size,
            "flavor": mv.flavor.value,
            "signature": mv.signature.to_dict() if mv.signature else None,
            "environment": mv.environment.to_dict(),
            "run_id": mv.run_id,
            "unsafe_pickle": mv.unsafe_pickle,
            "status": mv.status.value,
            "description": mv.description,
            "tags": dict(mv.tags),
            "created_at": mv.created_at,
            "created_by": mv.created_by,
            "golden": mv.golden.digest if mv.golden else None,
            "golden_rows": mv.golden.rows if mv.golden else None,
            "golden_size": mv.golden.size if mv.golden else None,
        }
        result = self.conn.execute(insert(s.model_versions).values(**row))
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])

    def _version(self, row: Row[Any], aliases: tuple[str, ...]) -> ModelVersion:
        return ModelVersion(
            project=row.project,
            name=row.model_name,
            version=int(row.version),
            digest=row.digest,
            size=int(row.size),
            flavor=Flavor(row.flavor),
            signature=Signature.from_dict(row.signature) if row.signature else None,
            environment=Environment.from_dict(row.environment),
            run_id=row.run_id,
            unsafe_pickle=bool(row.unsafe_pickle),
            status=VersionStatus(row.status),
            description=row.description,
            tags=dict(row.tags or {}),
            created_at=utc(row.created_at),
            created_by=row.created_by,
            aliases=aliases,
            golden=None
            if row.golden is None
            else GoldenSet(row.golden, int(row.golden_rows), int(row.golden_size)),
        )

    def _aliases_of(self, version_ids: list[int]) -> dict[int, tuple[str, ...]]:
        if not version_ids:
            return {}
        a = s.model_aliases.c
        q = select(a.version_id, a.alias).where(a.version_id.in_(version_ids)).order_by(a.alias)
        out: dict[int, list[str]] = {}
        for vid, alias in self.conn.execute(q):
            out.setdefault(int(vid), []).append(alias)
        return {k: tuple(v) for k, v in out.items()}

    def find_version(
        self, project: str, name: str, version: int | None, alias: str | None
    ) -> tuple[int, ModelVersion] | None:
        """By number, by alias, or (neither) the newest version that is not archived."""
        m, v = s.models.c, s.model_versions.c
        q = (
            select(*_VERSION_COLUMNS)
            .select_from(s.model_versions.join(s.models))
            .where(m.project == project, m.name == name)
        )
        if version is not None:
            q = q.where(v.version == version)
        elif alias is not None:
            a = s.model_aliases.c
            q = q.join(s.model_aliases, (a.version_id == v.id) & (a.alias == alias))
        else:
            q = q.where(v.status == VersionStatus.READY.value).order_by(v.version.desc()).limit(1)
        row = self.conn.execute(q).first()
        if row is None:
            return None
        vid = int(row.id)
        return vid, self._version(row, self._aliases_of([vid]).get(vid, ()))

    def versions(self, project: str, name: str) -> list[ModelVersion]:
        m, v = s.models.c, s.model_versions.c
        q = (
            select(*_VERSION_COLUMNS)
            .select_from(s.model_versions.join(s.models))
            .where(m.project == project, m.name == name)
            .order_by(v.version)
        )
        rows = list(self.conn.execute(q))
        aliases = self._aliases_of([int(r.id) for r in rows])
        return [self._version(r, aliases.get(int(r.id), ())) for r in rows]

    def refs_of_run(self, run_id: str) -> list[str]:
        """`name@version` of every model version registered from the run (its lineage)."""
        m, v = s.models.c, s.model_versions.c
        q = (
            select(m.name, v.version)
            .select_from(s.model_versions.join(s.models))
            .where(v.run_id == run_id)
            .order_by(m.name, v.version)
        )
        return [f"{name}@{version}" for name, version in self.conn.execute(q)]

    def version_with_digest(self, model_id: int, digest: str) -> ModelVersion | None:
        """The model's version holding exactly these artifact bytes, if any (the digest
        column's index: one row read, however many versions the model has)."""
        v = s.model_versions.c
        q = (
            select(*_VERSION_COLUMNS)
            .select_from(s.model_versions.join(s.models))
            .where(v.model_id == model_id, v.digest == digest)
            .order_by(v.version)
            .limit(1)
        )
        row = self.conn.execute(q).first()
        if row is None:
            return None
        vid = int(row.id)
        return self._version(row, self._aliases_of([vid]).get(vid, ()))

    def versions_for(
        self, model_id: int, versions: Sequence[int], aliases: Sequence[str]
    ) -> tuple[dict[int, ModelVersion], dict[str, int]]:
        """The versions named by number or held by one of `aliases`, in one statement: what a
        deployment's arms serve. The versions come without their `aliases` (not read); the
        second map says which version each alias holds."""
        v, a = s.model_versions.c, s.model_aliases.c
        if not versions and not aliases:
            return {}, {}
        q = (
            select(*_VERSION_COLUMNS, a.alias.label("held_alias"))
            .select_from(
                s.model_versions.join(s.models).outerjoin(
                    s.model_aliases, (a.version_id == v.id) & a.alias.in_(list(aliases))
                )
            )
            .where(v.model_id == model_id)
            .where(or_(v.version.in_(list(versions)), a.alias.is_not(None)))
        )
        found: dict[int, ModelVersion] = {}
        held: dict[str, int] = {}
        for row in self.conn.execute(q):
            number = int(row.version)
            if number not in found:
                found[number] = self._version(row, ())
            if row.held_alias is not None:
                held[row.held_alias] = number
        return found, held

    def set_status(self, version_id: int, status: VersionStatus) -> None:
        v = s.model_versions.c
        self.conn.execute(
            update(s.model_versions).where(v.id == version_id).values(status=status.value)
        )

    def set_tags(self, version_id: int, tags: dict[str, str]) -> None:
        v = s.model_versions.c
        self.conn.execute(update(s.model_versions).where(v.id == version_id).values(tags=tags))

    def version_id_of(self, model_id: int, version: int) -> int | None:
        v = s.model_versions.c
        row = self.conn.execute(
            select(v.id).where(v.model_id == model_id, v.version == version)
        ).first()
        return int(row[0]) if row else None

    # aliases -----------------------------------------------------------------------------
    def alias_holder(self, model_id: int, alias: str, lock: bool = False) -> int | None:
        """The version number behind `alias` (None: nobody). `lock` takes the row lock where
        the database has one, so two movers of one alias queue."""
        a, v = s.model_aliases.c, s.model_versions.c
        q = (
            select(v.version)
            .select_from(s.model_aliases.join(s.model_versions, v.id == a.version_id))
            .where(a.model_id == model_id, a.alias == alias)
        )
        if lock and self.conn.dialect.name == "postgresql":
            q = q.with_for_update()
        row = self.conn.execute(q).first()
        return int(row[0]) if row else None

    def move_alias(
        self,
        model_id: int,
        alias: str,
        version_id: int | None,
        move: AliasMove,
    ) -> None:
        """Point `alias` at `version_id` (None removes it) and keep the move in its history."""
        a = s.model_aliases.c
        self.conn.execute(delete(s.model_aliases).where(a.model_id == model_id, a.alias == alias))
        if version_id is not None:
            self.conn.execute(
                insert(s.model_aliases).values(
                    model_id=model_id,
                    alias=alias,
                    version_id=version_id,
                    set_at=move.at,
                    set_by=move.by,
                )
            )
        self.conn.execute(
            insert(s.alias_moves).values(
                model_id=model_id,
                alias=alias,
                from_version=move.from_version,
                to_version=move.to_version,
                moved_by=move.by,
                moved_at=move.at,
                reason=move.reason,
                request_id=move.request_id,
            )
        )

    def alias_history(self, project: str, name: str, alias: str | None = None) -> list[AliasMove]:
        m, h = s.models.c, s.alias_moves.c
        q = (
            select(s.alias_moves)
            .select_from(s.alias_moves.join(s.models))
            .where(m.project == project, m.name == name)
            .order_by(h.id.desc())
        )
        if alias is not None:
            q = q.where(h.alias == alias)
        return [
            AliasMove(
                project,
                name,
                r.alias,
                r.from_version,
                r.to_version,
                r.moved_by,
                utc(r.moved_at),
                r.reason,
                r.request_id,
            )
            for r in self.conn.execute(q)
        ]

    # cards -------------------------------------------------------------------------------
    def card(self, model_id: int, name: str) -> ModelCard:
        c = s.model_cards.c
        row = self.conn.execute(
            select(s.model_cards).where(c.model_id == model_id).order_by(c.revision.desc()).limit(1)
        ).first()
        if row is None:
            return ModelCard(name, {}, 0, None, None)
        return ModelCard(
            name, dict(row.fields), int(row.revision), row.updated_by, utc(row.updated_at)
        )

    def save_card(
        self, model_id: int, revision: int, fields: dict[str, str], by: str, now: datetime
    ) -> None:
        self.conn.execute(
            insert(s.model_cards).values(
                model_id=model_id, revision=revision, fields=fields, updated_by=by, updated_at=now
            )
        )

    # policies ----------------------------------------------------------------------------
    def policy(self, project: str) -> tuple[int, str, str, datetime] | None:
        """The project's current policy: (version, text, by, at)."""
        p = s.policies.c
        row = self.conn.execute(
            select(s.policies).where(p.project == project).order_by(p.version.desc()).limit(1)
        ).first()
        if row is None:
            return None
        return int(row.version), row.text, row.created_by, utc(row.created_at)

    def add_policy(self, project: str, version: int, text: str, by: str, now: datetime) -> None:
        self.conn.execute(
            insert(s.policies).values(
                project=project, version=version, text=text, created_by=by, created_at=now
            )
        )

    # requirements ------------------------------------------------------------------------
    def set_requirement(self, model_id: int, req: Requirement) -> None:
        row = {
            "model_id": model_id,
            "metric": req.metric,
            "min_value": req.min,
            "max_value": req.max,
            "set_by": req.set_by,
            "set_at": req.set_at,
        }
        upsert(
            self.conn,
            s.requirements,
            [row],
            ["model_id", "metric"],
            ["min_value", "max_value", "set_by", "set_at"],
        )

    def requirements(self, project: str, name: str) -> list[Requirement]:
        m, r = s.models.c, s.requirements.c
        q = (
            select(s.requirements)
            .select_from(s.requirements.join(s.models))
            .where(m.project == project, m.name == name)
            .order_by(r.metric)
        )
        return [
            Requirement(
                project, name, row.metric, row.min_value, row.max_value, row.set_by, utc(row.set_at)
            )
            for row in self.conn.execute(q)
        ]

    def version_in_use(self, version_id: int) -> list[str]:
        """What keeps a version from being archived: its aliases, open requests and the active
        deployments that serve it by number."""
        a, r = s.model_aliases.c, s.promotion_requests.c
        aliases = [
            f"alias {x}"
            for (x,) in self.conn.execute(select(a.alias).where(a.version_id == version_id))
        ]
        pending = (RequestState.OPEN.value, RequestState.APPROVED.value)
        opened = [
            f"{state} request {x}"
            for (x, state) in self.conn.execute(
                select(r.id, r.state).where(r.version_id == version_id, r.state.in_(pending))
            )
        ]
        return aliases + opened + self._pinned_by(version_id)

    def _pinned_by(self, version_id: int) -> list[str]:
        """Active deployments that serve the version by number (target, canary or shadow)."""
        v, m, d = s.model_versions.c, s.models.c, s.deployments.c
        row = self.conn.execute(
            select(m.name, v.version, v.model_id)
            .select_from(s.model_versions.join(s.models))
            .where(v.id == version_id)
        ).first()
        if row is None:
            return []
        ref = f"{row.name}@{row.version}"
        q = select(d.name).where(
            d.model_id == row.model_id,
            d.status == DeploymentStatus.ACTIVE.value,
            or_(d.target == ref, d.canary == ref, d.shadow == ref),
        )
        return [f"deployment {x}" for (x,) in self.conn.execute(q.order_by(d.name))]
