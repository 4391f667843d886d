"""`relay monitors history` and `relay monitors report`: a monitor's windows as they are or
merged into days and weeks, and its report (registered by `relay monitors`' module).

    relay monitors history churn-api --last 24      # or --by day
    relay monitors report churn-api --html churn-api.html
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from relayml.cli import output, state
from relayml.cli.commands.monitors import (
    JsonOpt,
    MonitorArg,
    ProjectOpt,
    SinceOpt,
    UntilOpt,
    _alerts,
    _emit,
    _metric,
    _utc,
    _windows,
)


def history(
    name: MonitorArg,
    by: Annotated[
        str, typer.Option("--by", help="window (as they are), day or week (merged).")
    ] = "window",
    last: Annotated[int | None, typer.Option("--last", help="Only the newest N windows.")] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The monitor's windows, oldest first, or merged into days or weeks."""
    from relayml.domain.monitors import parse_period

    period = parse_period(by)
    proj = state.project(project)
    with state.backend() as backend:
        if period is None:
            found: list[Any] = backend.monitors.history(
                proj, name, since=_utc(since), until=_utc(until), last=last
            )
        else:
            found = backend.monitors.rollups(
                proj, name, period=period, since=_utc(since), until=_utc(until)
            )
    if as_json:
        _emit(found)
        return
    if period is None:
        _windows(found)
        return
    t = output.table(period, "windows", "rows", "labelled", "flagged", "estimated", "realised")
    for r in found:
        flagged = (
            "; ".join(
                f"{f['kind']}: {f['subject']}"
                for f in (r.assessment or {}).get("findings", [])
                if f.get("flagged")
            )
            or "-"
        )
        t.add_row(
            output.when(r.start),
            str(r.windows),
            str(r.rows),
            str(r.labelled),
            output.escape(flagged),
            _metric(r.assessment, "estimated"),
            _metric(r.assessment, "realised"),
        )
    output.print_(t)


def report(
    name: MonitorArg,
    html: Annotated[
        str | None, typer.Option("--html", help="Write the report as one self-contained page.")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The monitor's report: a timeline per window, model-shift checks and alerts."""
    from relayml.sdk.models import check_report_paths
    from relayml.sdk.monitors import write_html

    check_report_paths(html)
    with state.backend() as backend:
        found = backend.monitors.report(
            state.project(project), name, since=_utc(since), until=_utc(until)
        )
    if html is not None:
        write_html(found, html)
    if as_json:
        _emit(found)
        return
    _windows(list(found.windows[-10:]))
    _alerts([a for a in found.alerts if a.state.live])
    if html is not None:
        output.print_(f"wrote {html}")
