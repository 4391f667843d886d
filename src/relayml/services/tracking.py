"""Experiment tracking: runs, params, metrics, tags, search."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from relayml.domain.audit import EntityKind, Event
from relayml.domain.filters import parse_filter, parse_order_by
from relayml.domain.identity import Principal, check_name
from relayml.domain.roles import Action
from relayml.domain.tracking import (
    LOST_AFTER_SECONDS,
    Experiment,
    MetricPoint,
    RunLineage,
    RunPage,
    RunRecord,
    check_key,
    check_point,
    check_run_id,
    param_value,
    parse_status,
    tag_value,
)
from relayml.errors import Conflict, InvalidInput, NotFound
from relayml.services.base import ServiceBase, utcnow
from relayml.services.denials import DenialLimiter
from relayml.store.artifacts import ArtifactStore
from relayml.store.base import MetadataStore, Transaction

MAX_BATCH = 100_000
MAX_LIMIT = 50_000


def _page_after(token: str | None, order_by: list[str] | None) -> list[Any] | None:
    """The previous page's last sort key from its opaque `next_page_token`."""
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        after, order = data["after"], data["order"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidInput(
            f"invalid page token {token!r:.80}; pass the next_page_token of the previous page"
        ) from None
    if order != list(order_by or []) or not isinstance(after, list):
        raise InvalidInput(
            "this page token belongs to a search with another order_by; search again "
            "with the same order_by, or without a page token"
        )
    return after


def _page_token(after: list[Any], order_by: list[str] | None) -> str:
    data = {"after": after, "order": list(order_by or [])}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


class TrackingService(ServiceBase):
    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        denials: DenialLimiter | None = None,
        *,
        lost_after: float = LOST_AFTER_SECONDS,
    ) -> None:
        super().__init__(store, artifacts, denials)
        self.lost_after = timedelta(seconds=lost_after)

    def _lost_before(self) -> datetime:
        """A running run whose last heartbeat is older than this reads as lost."""
        return utcnow() - self.lost_after

    def _loaded(self, tx: Transaction, run_id: str) -> RunRecord:
        """A run this transaction has already found (created it, or looked up its project)."""
        record = tx.tracking.get_run(run_id, self._lost_before())
        assert record is not None, f"run {run_id} vanished inside its transaction"
        return record

    def _run_project(self, tx: Transaction, run_id: str) -> str:
        project = tx.tracking.run_project(check_run_id(run_id))
        if project is None:
            raise NotFound(f"no run {run_id!r}; list runs with: relay runs ls")
        return project

    def list_experiments(self, who: Principal, project: str) -> list[Experiment]:
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.EXPERIMENT_READ, project, EntityKind.PROJECT, project
            )
            return tx.tracking.list_experiments(project)

    def create_run(
        self,
        who: Principal,
        *,
        project: str,
        experiment: str,
        name: str | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        parent_id: str | None = None,
    ) -> RunRecord:
        check_name("experiment", experiment)
        run_id = uuid.uuid4().hex
        run_name = name if name is not None else f"run-{run_id[:8]}"
        if not isinstance(run_name, str) or not run_name.strip() or len(run_name) > 250:
            raise InvalidInput(f"invalid run name {run_name!r}: 1-250 characters")
        clean_params = {check_key("param", k): param_value(k, v) for k, v in (params or {}).items()}
        clean_tags = {check_key("tag", k): tag_value(k, v) for k, v in (tags or {}).items()}
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.RUN_CREATE, project, EntityKind.RUN, run_id
            )
            if (
                parent_id is not None
                and tx.tracking.run_project(check_run_id(parent_id)) != project
            ):
                raise NotFound(f"no parent run {parent_id!r} in project {project!r}")
            now = utcnow()
            exp_id = tx.tracking.ensure_experiment(project, experiment, who.user, now)
            tx.tracking.create_run(
                run_id=run_id,
                experiment_id=exp_id,
                name=run_name,
                user=who.user,
                now=now,
                parent_id=parent_id,
            )
            tx.tracking.log(run_id, params=clean_params, tags=clean_tags)
            payload = {
                "experiment": experiment,
                "name": run_name,
                "params": clean_params,
                "tags": clean_tags,
                "parent_id": parent_id,
            }
            self.record(tx, who, roles, Action.RUN_CREATE, project, EntityKind.RUN, run_id, payload)
            return self._loaded(tx, run_id)

    def log_batch(
        self,
        who: Principal,
        run_id: str,
        *,
        params: dict[str, Any] | None = None,
        metrics: list[MetricPoint] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> int:
        """Params, metric points and tags in one transaction; returns the points written.

        Every batch is also the run's heartbeat, and an empty one is only that: the SDK sends
        one when an open run has written nothing for a while (RELAY_HEARTBEAT_INTERVAL), so a
        run whose process died reads as `lost` after RELAY_RUN_LOST_AFTER. A heartbeat changes
        no content and is not audited (an event per open run every 30 s would flood the trail);
        who may send it is checked as for any write to the run."""
        points = metrics or []
        if len(points) > MAX_BATCH:
            raise InvalidInput(f"{len(points)} metric points in one batch; send ≤ {MAX_BATCH}")
        clean_params = {check_key("param", k): param_value(k, v) for k, v in (params or {}).items()}
        clean_tags = {check_key("tag", k): tag_value(k, v) for k, v in (tags or {}).items()}
        points = [check_point(pt) for pt in points]
        closed = "params or metrics" if clean_params or points else None  # tags still go
        with self.write() as tx:
            project, roles = self.require_run_writer(tx, who, Action.RUN_UPDATE, run_id, closed)
            tx.tracking.heartbeat(run_id, utcnow())
            if not (clean_params or clean_tags or points):
                return 0
            written = tx.tracking.log(run_id, params=clean_params, tags=clean_tags, points=points)
            payload = {
                "params": clean_params,
                "tags": clean_tags,
                "metrics": [[p.key, repr(p.value), p.step, p.timestamp] for p in points],
            }
            self.record(tx, who, roles, Event.RUN_LOG, project, EntityKind.RUN, run_id, payload)
        return written

    def end_run(self, who: Principal, run_id: str, status: str = "finished") -> RunRecord:
        final = parse_status(status)
        if not final.terminal:
            raise InvalidInput(f"a run ends as finished, failed or killed, not {final.value}")
        with self.write() as tx:
            project, roles = self.require_run_writer(tx, who, Action.RUN_UPDATE, run_id, None)
            current = tx.tracking.run_status(run_id)
            if current is not None and current.terminal and current is not final:
                raise Conflict(f"run {run_id} already ended as {current.value}")
            tx.tracking.set_status(run_id, final, utcnow())
            payload = {"status": final.value}
            self.record(tx, who, roles, Event.RUN_END, project, EntityKind.RUN, run_id, payload)
            return self._loaded(tx, run_id)

    def get_run(self, who: Principal, run_id: str) -> RunRecord:
        with self.read() as tx:
            project = self._run_project(tx, run_id)
            self.require(tx, who, Action.RUN_READ, project, EntityKind.RUN, run_id)
            return self._loaded(tx, run_id)

    def lineage(self, who: Principal, run_id: str) -> RunLineage:
        """What the run came from and led to: the dataset versions it used and the model
        versions registered from it (each readable by whoever may read the run's project)."""
        with self.read() as tx:
            project = self._run_project(tx, run_id)
            self.require(tx, who, Action.RUN_READ, project, EntityKind.RUN, run_id)
            return RunLineage(tx.datasets.datasets_used_by(run_id), tx.models.refs_of_run(run_id))

    def metric_history(self, who: Principal, run_id: str, key: str) -> list[MetricPoint]:
        check_key("metric", key)
        with self.read() as tx:
            project = self._run_project(tx, run_id)
            self.require(tx, who, Action.RUN_READ, project, EntityKind.RUN, run_id)
            return tx.tracking.metric_history(run_id, key)

    def search_runs(
        self,
        who: Principal,
        *,
        project: str,
        experiments: list[str] | None = None,
        filter: str | None = None,
        order_by: list[str] | None = None,
        limit: int = 1000,
        page_token: str | None = None,
    ) -> RunPage:
        conditions = parse_filter(filter)
        ordering = parse_order_by(order_by)
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}, got {limit!r}")
        for e in experiments or []:
            check_name("experiment", e)
        after = _page_after(page_token, order_by)
        with self.read() as tx:
            self.require_in_project(tx, who, Action.RUN_READ, project, EntityKind.PROJECT, project)
            runs, last = tx.tracking.search_runs(
                project, experiments, conditions, ordering, limit, after, self._lost_before()
            )
        return RunPage(runs, _page_token(last, order_by) if last is not None else None)
