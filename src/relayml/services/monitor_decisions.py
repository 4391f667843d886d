"""Deciding a monitor's alerts from its closed windows: k of the last n decided windows of one
reference (the model version serving now) show a condition, and its alert opens, grows or
resolves (`_decide`, called by processing inside the transaction that writes the windows)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from relayml.domain.identity import Principal
from relayml.domain.monitors import AlertKind, Monitor, Severity, Window, window_version
from relayml.services.monitor_base import MONITOR_ACTOR, MonitorBase
from relayml.services.notifications import Pending
from relayml.store.base import Transaction

SEVERITY = {
    AlertKind.DATA_DRIFT: Severity.WARNING,
    AlertKind.PREDICTION_DRIFT: Severity.WARNING,
    AlertKind.ESTIMATED_PERFORMANCE: Severity.WARNING,
    AlertKind.REALISED_PERFORMANCE: Severity.CRITICAL,
}
_WORDS = {
    AlertKind.DATA_DRIFT: "input drift",
    AlertKind.PREDICTION_DRIFT: "prediction drift",
    AlertKind.ESTIMATED_PERFORMANCE: "estimated performance down",
    AlertKind.REALISED_PERFORMANCE: "realised performance down",
}


_NOT_WINDOWED = (AlertKind.MODEL_SHIFT, AlertKind.NO_TRAFFIC)  # not decided from findings
TRAFFIC = "traffic"  # the subject of a no_traffic alert


class DecisionsMixin(MonitorBase):
    # traffic that stopped -----------------------------------------------------------------
    def _silence(
        self,
        tx: Transaction,
        who: Principal,
        roles: frozenset[str],
        mon: Monitor,
        now: datetime,
    ) -> tuple[list[str], list[str], list[Pending]]:
        """A time monitor with `no_traffic_after` N: when the N newest complete windows had no
        rows (none since the newest window with rows, or since the monitor's start), open a
        critical `no_traffic` alert (growing while it lasts); once a window has rows, resolve
        it. Called after the pass wrote its windows, only when it read every segment ready."""
        spec, quiet = mon.config.window, mon.config.no_traffic_after
        assert quiet is not None and spec.seconds is not None
        newest = tx.monitors.windows(mon.id, mon.name, last=1)
        heard = newest[-1].end if newest else spec.bounds(mon.config.since)[0]
        complete = spec.bounds(now - timedelta(seconds=mon.config.grace))[0]
        silent = max(0, int((complete - heard).total_seconds() // spec.seconds))
        live = tx.monitors.live_alerts(mon.id).get((AlertKind.NO_TRAFFIC, TRAFFIC))
        if silent < quiet:
            if live is None or not newest or newest[-1].start < live.since:
                return [], [], []
            back = newest[-1]
            text = f"traffic is back: window {back.seq} ({back.start:%Y-%m-%d %H:%M} UTC) has "
            done, pending = self._resolve_alert(
                tx, who, roles, live, by=MONITOR_ACTOR, text=f"{text}{back.rows} rows"
            )
            return [], [done.id] if done is not None else [], pending
        title = (
            f"no traffic: {mon.deployment}'s primary answered no rows in the last {silent} "
            f"windows of {spec} (since {heard:%Y-%m-%d %H:%M} UTC); is its model server up, "
            "and do requests reach it?"
        )
        details = {"windows": silent, "since": heard.isoformat(), "after": quiet,
                   "window": spec.text}  # fmt: skip
        if live is not None:
            if live.windows != silent:
                self._grow_alert(tx, live, title=title, details=details, window=None,
                                 more=silent - live.windows)  # fmt: skip
            return [], [], []
        made, pending = self._open_alert(
            tx, who, roles, mon, kind=AlertKind.NO_TRAFFIC, subject=TRAFFIC,
            severity=Severity.CRITICAL, title=title, details=details, since=heard, window=None,
            first_window=None, windows=silent,
        )  # fmt: skip
        return [made.id], [], pending

    # deciding -----------------------------------------------------------------------------
    def _decide(
        self,
        tx: Transaction,
        who: Principal,
        roles: frozenset[str],
        mon: Monitor,
        changed: Sequence[Window],
        closed: set[int],
    ) -> tuple[list[str], list[str], list[str], list[Pending]]:
        """Open, grow or resolve the monitor's alerts after `changed` windows were written
        (`closed`: the seqs of those that closed in this pass, which make an alert grow).

        Persistence counts the windows of one reference: those of the model version whose rows
        the newest closed window holds (the version serving now). Windows of an earlier
        version are not counted, so when a new version takes over, the alerts raised against
        the old one's reference resolve at its first window, saying so."""
        from relayml.stats.assessment import Finding
        from relayml.stats.monitoring import decide

        k, n = mon.config.alert_after.k, mon.config.alert_after.n
        history = tx.monitors.windows(mon.id, mon.name, closed=True, last=max(n * 5, 50))
        if not history:
            return [], [], [], []
        current = window_version(history[-1], mon)
        history = [w for w in history if window_version(w, mon) == current]
        findings = [
            [Finding.from_dict(f) for f in (w.assessment or {}).get("findings", [])]
            for w in history
        ]
        decisions = {
            (AlertKind(d.kind.value), d.subject): d for d in decide(findings, k=k, n=n) if d.firing
        }
        live = tx.monitors.live_alerts(mon.id)
        fresh = {w.seq for w in changed}
        opened: list[str] = []
        grown: list[str] = []
        resolved: list[str] = []
        pending: list[Pending] = []
        for (kind, subject), d in decisions.items():
            seen = [w for w in history if subject in w.flags.get(kind.value, [])]
            newest = seen[-1] if seen else history[-1]
            # how much: the newest window that showed it (the newest decided one may not)
            latest = next(
                (f for f in findings[history.index(newest)]
                 if f.kind.value == kind.value and f.subject == subject and f.flagged),
                d.latest,
            )  # fmt: skip
            title = (
                f"{_WORDS[kind]} on {subject}: {latest.measure} {latest.magnitude:.3g} "
                f"(threshold {latest.threshold:g}), in {d.flagged} of the last {d.counted} "
                "decided windows"
            )
            details = d.to_dict()
            details["window"] = newest.seq
            details["shown"] = latest.to_dict()  # the finding of that window: effect and why
            details["model_version"] = current  # whose reference it was judged against
            alert = live.get((kind, subject))
            flagged = [subject in w.flags.get(kind.value, []) for w in history]
            if alert is None:
                # since when: back from the oldest window the rule counted, over the windows
                # that showed it without a break (one pass may close many)
                start = d.since if d.since is not None else len(history) - 1
                while start > 0 and flagged[start - 1]:
                    start -= 1
                first = history[start]
                made, more = self._open_alert(
                    tx,
                    who,
                    roles,
                    mon,
                    kind=kind,
                    subject=subject,
                    severity=SEVERITY[kind],
                    title=title,
                    details=details,
                    since=first.start,
                    window=newest.seq,
                    first_window=first.seq,
                    windows=sum(flagged[start:]),
                )
                opened.append(made.id)
                pending.extend(more)
            else:
                more_windows = sum(
                    1 for w in changed if w.seq in closed and subject in w.flags.get(kind.value, [])
                )
                if more_windows or newest.seq != alert.last_window:
                    self._grow_alert(
                        tx,
                        alert,
                        title=title,
                        details=details,
                        window=newest.seq,
                        more=more_windows,
                    )
                    grown.append(alert.id)
        for (kind, subject), alert in live.items():
            if kind in _NOT_WINDOWED or (kind, subject) in decisions:
                continue
            if not fresh:
                continue
            was = alert.details.get("model_version", mon.model_version)
            text = f"cleared: fewer than {k} of the last {n} decided windows show it"
            if was != current:
                text = (
                    f"{mon.model}@{current} serves now, in place of {mon.model}@{was} whose "
                    f"reference this was raised against; {mon.model}@{current}'s windows are "
                    "compared with its own reference, and fewer than "
                    f"{k} of the last {n} of them show it"
                )
            done, more = self._resolve_alert(tx, who, roles, alert, by=MONITOR_ACTOR, text=text)
            if done is not None:
                resolved.append(done.id)
                pending.extend(more)
        return opened, grown, resolved, pending
