"""A monitor's closed windows merged into days or ISO weeks and assessed anew (`rollups`): the
summaries merge exactly, so a day reads as one window of a day would; windows of different
references (model versions) never merge."""

from __future__ import annotations

from datetime import datetime

from relayml.domain.audit import EntityKind
from relayml.domain.deployments import check_time
from relayml.domain.identity import Principal
from relayml.domain.monitors import (
    MAX_WINDOWS_LISTED,
    Rollup,
    Window,
    parse_period,
    period_bounds,
    window_version,
)
from relayml.domain.roles import Action
from relayml.errors import InvalidInput
from relayml.services.monitor_base import MonitorBase
from relayml.services.monitor_reference import PassReferences, ReferenceInput


class RollupsMixin(MonitorBase):
    def rollups(
        self,
        who: Principal,
        project: str,
        name: str,
        *,
        period: str = "day",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Rollup]:
        """The closed windows merged into days or ISO weeks (UTC) and assessed anew, oldest
        first: the summaries merge exactly, so a day is what one window of a day would be.
        Windows of different references (model versions) never merge: the day a new version
        took over has a rollup per version."""
        from relayml.stats.monitoring import PerformanceSummary, WindowSummary, assess

        chosen = parse_period(period)
        if chosen is None:
            raise InvalidInput("rollups merge windows by day or week; list windows with history")
        for what, when in (("since", since), ("until", until)):
            if when is not None:
                check_time(what, when)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.MONITOR_READ, project, EntityKind.MONITOR, str(name)
            )
            mon = self._get(tx, project, name)
            windows = tx.monitors.windows(mon.id, mon.name, since=since, until=until, closed=True)
            known = tx.monitors.references(mon.id)
        if len(windows) > 100 * MAX_WINDOWS_LISTED:
            raise InvalidInput(f"{len(windows)} windows in that period; give a shorter one")
        if not windows:
            return []
        refs = PassReferences(self.artifacts, self._references, mon, known, _no_building)
        groups: dict[tuple[datetime, int], list[Window]] = {}
        for w in windows:
            version = window_version(w, mon) or 0
            groups.setdefault((period_bounds(chosen, w.start)[0], version), []).append(w)
        out = []
        for (start, version), members in sorted(groups.items()):
            ref = refs.get(version or None)
            summary = WindowSummary.empty(ref)
            perf: PerformanceSummary | None = None
            for w in members:
                summary = summary.merge(WindowSummary.from_dict(w.summary, ref))
                if w.performance is not None:
                    p = PerformanceSummary.from_dict(w.performance)
                    perf = p if perf is None else perf.merge(p)
            a = assess(ref, summary, perf, min_rows=mon.config.min_rows)
            out.append(
                Rollup(
                    mon.name,
                    chosen,
                    start,
                    period_bounds(chosen, start)[1],
                    len(members),
                    sum(w.rows for w in members),
                    sum(w.labelled for w in members),
                    a.to_dict(),
                    model_version=version or None,
                )
            )
        return out


def _no_building(version: int) -> ReferenceInput:
    raise InvalidInput(f"no reference was built for version {version}")
