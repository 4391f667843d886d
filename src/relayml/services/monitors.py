"""Monitors on deployments: create them (the reference found through the registry), pause,
resume, archive, and read their windows and report.

The service is split by concept: here the monitors themselves; `services/monitor_processing.py`
reads the prediction log into windows (`services/monitor_windows.py`) and decides (`process`);
`services/monitor_rollups.py` merges windows (`rollups`); `services/alerts.py` holds alerts as
hand-offs and model-shift checks (`record_check`); all on `services/monitor_base.py`.

A monitor's reference is the training dataset version recorded on the deployed model's run
(the run's used datasets), or the one named (`reference="loans@3"`): its stored drift summary
for the inputs, and the model's outputs on it (with calibration when `target` names its label
column), built once at creation and stored as JSON in the artifact store.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from relayml.domain.audit import EntityKind, Event
from relayml.domain.deployments import check_time, target_ref
from relayml.domain.identity import Principal, check_role_name
from relayml.domain.monitors import (
    MAX_CHECK_SECONDS,
    MAX_HORIZON_SECONDS,
    MAX_WINDOWS_LISTED,
    MIN_CHECK_SECONDS,
    Monitor,
    MonitorConfig,
    MonitorReport,
    MonitorStatus,
    ReferenceVersion,
    Window,
    WindowKind,
    check_endpoint,
    check_min_rows,
    check_monitor_name,
    check_no_traffic_after,
    check_note,
    check_seconds,
    parse_persistence,
    parse_window,
)
from relayml.domain.refs import Ref, parse_ref
from relayml.domain.roles import Action
from relayml.domain.text import check_text
from relayml.errors import Conflict, InvalidInput, NotFound, Unprocessable
from relayml.services.alerts import AlertsMixin
from relayml.services.base import utcnow
from relayml.services.monitor_processing import ProcessingMixin
from relayml.services.monitor_reference import ReferenceInput, build_reference, with_evaluation
from relayml.services.monitor_rollups import RollupsMixin
from relayml.services.notifications import Pending
from relayml.store.base import Transaction

MAX_GRACE_SECONDS = 86_400.0


def _check_bool(what: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{what} must be true or false, not {value!r:.40}")
    return value


class MonitorsService(ProcessingMixin, RollupsMixin, AlertsMixin):
    # creating -----------------------------------------------------------------------------
    def create(
        self,
        who: Principal,
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
    ) -> Monitor:
        """Watch `deployment`'s prediction log in windows (`1h`, or `50000` rows). The monitor
        is named after the deployment unless `name` is given. Alerts need `min_rows` rows in a
        window and the condition in `alert_after` (K/N) of the last N decided windows;
        feedback updates a window's realised performance until `label_horizon` after it ends;
        a time window closes `grace` after its end (for segments still being flushed). The
        log is read from `since` on (default: now). Alerts go to the inbox of `owner`. With
        `endpoint` (the live model server's URL), the monitors' runner checks it for model
        shift every `check_every`. With `no_traffic_after` (time windows only), N complete
        windows in a row without rows open a `no_traffic` alert. Input drift is measured
        against `reference`'s stored profile; the model's outputs (the prediction-drift
        baseline and the calibration of the label-free estimate) come from `evaluation`'s rows
        and labels (`holdout@2`), by default the dataset version the served version was
        evaluated on in its applied promotion request, else the reference dataset."""
        check_monitor_name(deployment)
        mon_name = check_monitor_name(name if name is not None else deployment)
        spec = parse_window(window)
        persistence = parse_persistence(alert_after)
        quiet = check_no_traffic_after(no_traffic_after, spec)
        rows = check_min_rows(min_rows)
        horizon = check_seconds("label horizon", label_horizon, 60.0, MAX_HORIZON_SECONDS)
        wait = check_seconds("grace", grace, 0.001, MAX_GRACE_SECONDS)
        owner = check_role_name(owner)
        url = check_endpoint(endpoint) if endpoint is not None else None
        every = check_seconds("check every", check_every, MIN_CHECK_SECONDS, MAX_CHECK_SECONDS)
        if target is not None:
            check_text("target", target, 256)
            if not target:
                raise InvalidInput("target must name the reference's label column")
        ref = parse_ref(reference) if reference is not None else None
        evaluation = str(parse_ref(evaluation)) if evaluation is not None else None
        start = check_time("since", since) if since is not None else None
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.MONITOR_MANAGE, project, EntityKind.MONITOR, mon_name
            )
            self._refuse_taken(tx, project, mon_name)
            _, dep = self._deployment(tx, project, deployment)
            if not dep.active:
                raise Conflict(
                    f"deployment {deployment!r} is archived; monitor an active deployment"
                )
            table = self.table(tx, project)
            table.require_known(owner, "owner")
            if not table.allows([owner], Action.ALERT_ACK):
                raise InvalidInput(
                    f"role {owner!r} may not acknowledge alerts ({Action.ALERT_ACK.value}); "
                    "give the alerts to a role that may: "
                    + ", ".join(table.holders(Action.ALERT_ACK))
                )
            source = self._reference_input(tx, project, dep.target, ref, who)
            if evaluation is not None:
                self.require(tx, who, Action.DATASET_READ, project, EntityKind.DATASET, evaluation)
            source = with_evaluation(tx, project, source, evaluation)
        built = build_reference(self.artifacts, source, target)
        digest, _ = self.artifacts.put_chunks([built])
        now = utcnow()
        if start is None:
            start = spec.bounds(now)[0] if spec.kind is WindowKind.TIME else now
        config = MonitorConfig(
            window=spec,
            reference=source.dataset_ref,
            target=target,
            min_rows=rows,
            alert_after=persistence,
            label_horizon=horizon,
            grace=wait,
            owner=owner,
            since=start,
            endpoint=url,
            check_every=every,
            no_traffic_after=quiet,
            evaluation=evaluation,
        )
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.MONITOR_MANAGE, project, EntityKind.MONITOR, mon_name
            )
            self._refuse_taken(tx, project, mon_name)
            _, dep = self._deployment(tx, project, deployment)
            mon = Monitor(
                id=uuid.uuid4().hex,
                project=project,
                name=mon_name,
                deployment=dep.name,
                model=dep.model,
                model_version=source.model_version,
                config=config,
                reference_digest=digest,
                status=MonitorStatus.ACTIVE,
                revision=1,
                created_by=who.user,
                created_at=now,
                updated_by=who.user,
                updated_at=now,
            )
            tx.monitors.insert(mon, dep.id)
            first = ReferenceVersion(
                source.model_version,
                source.dataset_ref,
                digest,
                now,
                source.evaluation_ref or None,
                source.evaluation_from,
            )
            tx.monitors.add_reference(mon.id, first)
            mon = replace(mon, references=(first,))
            payload = {
                "deployment": dep.name,
                "window": spec.text,
                "reference": source.dataset_ref,
                "evaluation": source.outputs_ref,
                "evaluation_from": source.evaluation_from,
                "model": f"{dep.model}@{source.model_version}",
                "reference_digest": digest,
                "target": target,
                "min_rows": rows,
                "alert_after": str(persistence),
                "label_horizon": horizon,
                "owner": owner,
                "since": start.isoformat(),
                "endpoint": url,
                "check_every": every,
                "no_traffic_after": quiet,
            }
            self.record(
                tx, who, roles, Event.MONITOR_CREATE, project, EntityKind.MONITOR, mon_name, payload
            )
        return mon

    @staticmethod
    def _refuse_taken(tx: Transaction, project: str, name: str) -> None:
        existing = tx.monitors.get(project, name)
        if existing is not None:
            raise Conflict(
                f"monitor {name!r} exists in project {project!r} ({existing.status.value}, on "
                f"{existing.deployment}); choose another name with --name"
            )

    def _reference_input(
        self, tx: Transaction, project: str, target: str, ref: Ref | None, who: Principal
    ) -> ReferenceInput:
        """The model version the deployment serves now and the dataset version to compare with:
        the one named, else the one the version's run used."""
        served = target_ref(target)
        found = tx.models.find_version(project, served.name, served.version, served.alias)
        if found is None:
            raise NotFound(
                f"deployment target {target} resolves to no version now; a monitor's reference "
                "needs the version it serves"
            )
        version = found[1]
        if ref is None:
            used = tx.datasets.datasets_used_by(version.run_id) if version.run_id else []
            if len(used) != 1:
                why = (
                    f"its run {version.run_id} used {', '.join(used)}"
                    if used
                    else (
                        f"its run {version.run_id} recorded no dataset"
                        if version.run_id
                        else "it was registered without a run"
                    )
                )
                raise Unprocessable(
                    f"cannot tell the training data of {version.ref}: {why}; name the "
                    "reference: relay monitors create ... --reference DATASET@VERSION"
                )
            ref = parse_ref(used[0])
        self.require(tx, who, Action.DATASET_READ, project, EntityKind.DATASET, str(ref))
        found_ds = tx.datasets.find_version(project, ref.name, ref.version, False)
        if found_ds is None:
            raise NotFound(
                f"no usable version {ref} of a dataset in project {project!r} to use as the "
                f"reference; see them with: relay datasets versions {ref.name}"
            )
        ds = found_ds[1]
        if ds.sketch_blob is None:
            raise Unprocessable(f"dataset {ds.ref} has no stored drift summary to compare with")
        return ReferenceInput(
            dataset_ref=ds.ref,
            dataset_blob=ds.blob,
            sketch_blob=ds.sketch_blob,
            model=version,
            model_version=version.version,
        )

    # reading ------------------------------------------------------------------------------
    def get(self, who: Principal, project: str, name: str) -> Monitor:
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.MONITOR_READ, project, EntityKind.MONITOR, str(name)
            )
            return self._get(tx, project, name)

    def list_monitors(
        self, who: Principal, project: str, include_archived: bool = False
    ) -> list[Monitor]:
        _check_bool("include_archived", include_archived)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.MONITOR_READ, project, EntityKind.PROJECT, project
            )
            return tx.monitors.list_monitors(project, include_archived)

    def history(
        self,
        who: Principal,
        project: str,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        last: int | None = None,
    ) -> list[Window]:
        """The monitor's windows, oldest first: those overlapping [since, until), or the
        `last` few; the open window of a rows monitor included (closed False)."""
        if since is not None:
            check_time("since", since)
        if until is not None:
            check_time("until", until)
        if last is not None and (
            isinstance(last, bool)
            or not isinstance(last, int)
            or not 1 <= last <= MAX_WINDOWS_LISTED
        ):
            raise InvalidInput(f"last must be 1 to {MAX_WINDOWS_LISTED}, not {last!r:.40}")
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.MONITOR_READ, project, EntityKind.MONITOR, str(name)
            )
            mon = self._get(tx, project, name)
            found = tx.monitors.windows(mon.id, mon.name, since=since, until=until, last=last)
        if last is None and len(found) > MAX_WINDOWS_LISTED:
            raise InvalidInput(
                f"{len(found)} windows in that period; ask for at most {MAX_WINDOWS_LISTED} "
                "(a shorter period, last=N, or rollups by day or week)"
            )
        return found

    def report(
        self,
        who: Principal,
        project: str,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> MonitorReport:
        """What the monitor's page shows over [since, until): its windows, model-shift checks
        and alerts (default: the newest 500 windows)."""
        if since is not None:
            check_time("since", since)
        if until is not None:
            check_time("until", until)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.MONITOR_READ, project, EntityKind.MONITOR, str(name)
            )
            mon = self._get(tx, project, name)
            last = None if since is not None or until is not None else 500
            windows = tx.monitors.windows(mon.id, mon.name, since=since, until=until, last=last)
            if len(windows) > MAX_WINDOWS_LISTED:
                raise InvalidInput(
                    f"{len(windows)} windows in that period; a report shows at most "
                    f"{MAX_WINDOWS_LISTED}: give a shorter period"
                )
            checks = tx.monitors.checks(mon.id, mon.name, 500)
            alerts = tx.monitors.list_alerts([project], monitor_id=mon.id, limit=1000)
        return MonitorReport(mon, tuple(windows), tuple(checks), tuple(alerts), utcnow())

    # changing -----------------------------------------------------------------------------
    def set_endpoint(
        self,
        who: Principal,
        project: str,
        name: str,
        endpoint: str | None,
        *,
        check_every: str | float | None = None,
    ) -> Monitor:
        """Set (or clear, with None) the live model server the monitors' runner checks for
        model shift, and how often (`check_every`; None keeps it)."""
        url = check_endpoint(endpoint) if endpoint is not None else None
        every = (
            check_seconds("check every", check_every, MIN_CHECK_SECONDS, MAX_CHECK_SECONDS)
            if check_every is not None
            else None
        )
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.MONITOR_MANAGE, project, EntityKind.MONITOR, str(name)
            )
            mon = self._get(tx, project, name)
            if mon.status is MonitorStatus.ARCHIVED:
                raise Conflict(f"monitor {mon.name!r} is archived; it takes no changes")
            config = replace(
                mon.config,
                endpoint=url,
                check_every=every if every is not None else mon.config.check_every,
            )
            done = replace(
                mon,
                config=config,
                revision=mon.revision + 1,
                updated_by=who.user,
                updated_at=utcnow(),
            )
            if not tx.monitors.set_endpoint(done, mon.revision):
                raise Conflict(f"monitor {mon.name!r} changed meanwhile; look again and retry")
            payload = {
                "endpoint": url,
                "was": mon.config.endpoint,
                "check_every": config.check_every,
            }
            self.record(
                tx, who, roles, Event.MONITOR_ENDPOINT, project, EntityKind.MONITOR, mon.name,
                payload,
            )  # fmt: skip
            return done

    def pause(self, who: Principal, project: str, name: str, *, reason: str = "") -> Monitor:
        """Stop processing until resumed (windows are caught up on resume); alerts stay."""
        return self._set_status(who, project, name, MonitorStatus.PAUSED, reason)

    def resume(self, who: Principal, project: str, name: str, *, reason: str = "") -> Monitor:
        return self._set_status(who, project, name, MonitorStatus.ACTIVE, reason)

    def archive(self, who: Principal, project: str, name: str, *, reason: str = "") -> Monitor:
        """Stop for good: kept with its windows and alerts, its live alerts resolved."""
        return self._set_status(who, project, name, MonitorStatus.ARCHIVED, reason)

    def _set_status(
        self, who: Principal, project: str, name: str, status: MonitorStatus, reason: str
    ) -> Monitor:
        text = check_note("reason", reason)
        event = {
            MonitorStatus.PAUSED: Event.MONITOR_PAUSE,
            MonitorStatus.ACTIVE: Event.MONITOR_RESUME,
            MonitorStatus.ARCHIVED: Event.MONITOR_ARCHIVE,
        }[status]
        pending: list[Pending] = []
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.MONITOR_MANAGE, project, EntityKind.MONITOR, str(name)
            )
            mon = self._get(tx, project, name)
            if mon.status is MonitorStatus.ARCHIVED:
                raise Conflict(f"monitor {mon.name!r} is archived; it takes no changes")
            if mon.status is status:
                raise Conflict(f"monitor {mon.name!r} is {status.value} already")
            now = utcnow()
            done = replace(
                mon,
                status=status,
                status_reason=text,
                revision=mon.revision + 1,
                updated_by=who.user,
                updated_at=now,
            )
            if not tx.monitors.set_status(done, mon.revision):
                raise Conflict(f"monitor {mon.name!r} changed meanwhile; look again and retry")
            self.record(
                tx, who, roles, event, project, EntityKind.MONITOR, mon.name, {"reason": text}
            )
            if status is MonitorStatus.ARCHIVED:
                for alert in tx.monitors.live_alerts(mon.id).values():
                    _, more = self._resolve_alert(
                        tx,
                        who,
                        roles,
                        alert,
                        by=who.user,
                        text=f"monitor archived{': ' + text if text else ''}",
                    )
                    pending.extend(more)
        self._send(pending)
        return done
