"""A monitor's report as one self-contained HTML page: a timeline per window (drift per input
column, prediction drift, realised against estimated performance), model-shift checks and
alerts. Inline CSS and SVG, a Content-Security-Policy that allows no script and no fetch,
every value escaped.

`body` is the page's content without its document shell and title: the web UI shows it in its
own layout (its stylesheet carries the rules of `CSS` it needs, under `.monitor-report`), so
the report a user writes with `relay monitors report --html` and the monitor's page in the UI
cannot differ. Nothing here uses a style attribute (the UI allows no inline styles).
"""

from __future__ import annotations

import html
import json
from typing import Any

from relayml.domain.monitors import Alert, MonitorReport, Window
from relayml.domain.numbers import decode_float, json_safe

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1200px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem} .muted{color:#666} table{border-collapse:collapse;width:100%;
margin:.5rem 0 1.5rem} th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e5e5e5;
vertical-align:top;font-size:.9rem} th{background:#fafafa} td.num{font-variant-numeric:
tabular-nums;text-align:right} .flag{background:#fde2e1;color:#a4161a;font-weight:600}
.ok{color:#1e6b34} .skip{color:#999} .pill{display:inline-block;padding:.05rem .5rem;
border-radius:1rem;font-size:.8rem;font-weight:600} .critical{background:#a4161a;color:#fff}
.warning{background:#f9c74f;color:#222} .resolved{background:#e3f4e8;color:#1e6b34}
.heat td{text-align:center;font-size:.8rem} pre{white-space:pre-wrap;font-size:.8rem}
"""
REALISED = "#4c78a8"
ESTIMATED = "#f58518"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any) -> float:
    try:
        return decode_float(value)
    except (TypeError, ValueError):
        return float("nan")


def _fmt(x: float) -> str:
    if x != x:
        return "-"
    return f"{x:.3g}" if abs(x) < 1e-3 or abs(x) >= 1e4 else f"{x:.4g}"


def _metric(doc: dict[str, Any] | None, part: str, name: str) -> float:
    found = ((doc or {}).get(part) or {}).get(name)
    return _num(found.get("value")) if isinstance(found, dict) else float("nan")


def _shown_metrics(windows: tuple[Window, ...]) -> list[str]:
    """A classifier's headline metric (AUC, else accuracy); a regressor's MAE and RMSE (both
    estimated without labels, when its reference could fit the loss model)."""
    for w in windows:
        for part in ("estimated", "realised", "baseline"):
            names = list((w.assessment or {}).get(part) or {})
            for preferred in ("auc", "accuracy"):
                if preferred in names:
                    return [preferred]
            regression = [m for m in ("mae", "rmse") if m in names]
            if regression:
                return regression
    return []


def _findings(w: Window, kind: str) -> dict[str, dict[str, Any]]:
    return {
        str(f["subject"]): f
        for f in (w.assessment or {}).get("findings", [])
        if f.get("kind") == kind
    }


def _chart(windows: tuple[Window, ...], metric: str, width: int = 1100, height: int = 180) -> str:
    """Realised and estimated `metric` per window as two lines (inline SVG)."""
    points = [
        (
            w.seq,
            _metric(w.assessment, "realised", metric),
            _metric(w.assessment, "estimated", metric),
        )
        for w in windows
    ]
    values = [v for _, r, e in points for v in (r, e) if v == v]
    if not values:
        return '<p class="muted">no performance to plot yet</p>'
    low, high = min(values), max(values)
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    step = (width - 40) / max(len(points) - 1, 1)

    def xy(i: int, v: float) -> str:
        return f"{20 + i * step:.1f},{10 + (height - 30) * (high - v) / (high - low):.1f}"

    out = [f'<svg width="{width}" height="{height}" role="img" aria-label="{_e(metric)}">']
    for color, idx in ((REALISED, 1), (ESTIMATED, 2)):
        line = [xy(i, p[idx]) for i, p in enumerate(points) if p[idx] == p[idx]]
        if line:
            out.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                f'points="{" ".join(line)}"/>'
            )
    out.append(
        f'<text x="20" y="{height - 4}" font-size="11" fill="#666">{_e(metric)}: '
        f"{_fmt(low)} to {_fmt(high)}; realised in blue, estimated (no labels) in orange</text>"
    )
    out.append("</svg>")
    return "".join(out)


def _alert_row(a: Alert) -> str:
    state = "resolved" if a.state.value == "resolved" else a.severity.value
    target = f"#window-{a.last_window}" if a.last_window is not None else "#checks"
    return (
        f'<tr><td><span class="pill {_e(state)}">{_e(a.severity.value)}</span></td>'
        f"<td>{_e(a.state.value)}</td><td>{_e(a.kind.value)}</td><td>{_e(a.subject)}</td>"
        f"<td>{_e(a.title)}</td><td>{_e(a.since.isoformat(timespec='minutes'))}</td>"
        f'<td class="num">{a.windows}</td><td><a href="{_e(target)}">{_e(a.id[:12])}</a></td>'
        "</tr>"
    )


def title(report: MonitorReport) -> str:
    mon = report.monitor
    return f"Monitor {mon.name} on {mon.deployment} (project {mon.project})"


def render_html(report: MonitorReport) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        f"<title>{_e(title(report))}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title(report))}</h1>",
        body(report),
        "</body></html>",
    ]
    return "\n".join(out)


def body(report: MonitorReport) -> str:
    """The report's content: settings, live alerts, performance, the timeline, drift per
    column, model-shift checks and every alert (h2 sections)."""
    mon = report.monitor
    c = mon.config
    windows = report.windows
    out = [
        f'<p class="muted">Generated {_e(report.generated_at.isoformat(timespec="seconds"))}; '
        f"windows of {_e(c.window)}; reference {_e(c.reference)} with "
        f"{_e(mon.model)}@{_e(mon.model_version)}; at least {c.min_rows} rows decide; alerts "
        f"when {_e(c.alert_after)} decided windows show it; labels count for "
        f"{_fmt(c.label_horizon / 86_400)} days; alerts go to {_e(c.owner)}; status "
        f"{_e(mon.status.value)}.</p>",
    ]
    live = [a for a in report.alerts if a.state.live]
    out.append(f"<h2>Live alerts ({len(live)})</h2>")
    head = (
        "<table><tr><th>severity</th><th>state</th><th>kind</th><th>subject</th>"
        "<th>what</th><th>since</th><th>windows</th><th>alert</th></tr>"
    )
    if live:
        out += [head, *(_alert_row(a) for a in live), "</table>"]
    else:
        out.append('<p class="ok">none</p>')
    metrics = _shown_metrics(windows)
    out.append("<h2>Performance per window</h2>")
    if not metrics:
        out.append('<p class="muted">no performance yet</p>')
    out += [_chart(windows, m) for m in metrics]
    out.append("<h2>Timeline</h2>")
    out.append(
        "<table><tr><th>window</th><th>start</th><th>end</th><th>rows</th><th>labelled</th>"
        "<th>decided</th><th>inputs drifted</th><th>prediction drift</th>"
        + "".join(
            f"<th>estimated {_e(m)}</th><th>realised {_e(m)}</th><th>estimate's error</th>"
            for m in metrics or [""]
        )
        + "</tr>"
    )
    for w in windows:
        a = w.assessment
        drifted = ", ".join(w.flags.get("data_drift", [])) or "-"
        pred = ", ".join(w.flags.get("prediction_drift", [])) or "-"
        cells = []
        for m in metrics or [""]:
            est = _metric(a, "estimated", m) if m else float("nan")
            real = _metric(a, "realised", m) if m else float("nan")
            err = _num(((a or {}).get("estimation_error") or {}).get(m, "NaN"))
            cells.append(
                f"<td class='num'>{_fmt(est)}</td><td class='num'>{_fmt(real)}</td>"
                f"<td class='num'>{_fmt(err)}</td>"
            )
        state = "open" if not w.closed else ("yes" if w.decided else "too few rows")
        cls = "flag" if w.flags else ("skip" if not w.decided else "ok")
        out.append(
            f'<tr id="window-{w.seq}" class="{cls}"><td>{w.seq}</td>'
            f"<td>{_e(w.start.isoformat(timespec='minutes'))}</td>"
            f"<td>{_e(w.end.isoformat(timespec='minutes'))}</td><td class='num'>{w.rows}</td>"
            f"<td class='num'>{w.labelled}</td><td>{_e(state)}</td><td>{_e(drifted)}</td>"
            f"<td>{_e(pred)}</td>{''.join(cells)}</tr>"
        )
    out.append("</table>")
    columns = sorted({s for w in windows for s in _findings(w, "data_drift")})
    if columns and windows:
        out.append("<h2>Drift per input column</h2>")
        out.append(
            '<p class="muted">The effect after noise per window; flagged cells are '
            "credible and large (the drift engine's rule).</p>"
        )
        out.append(
            '<table class="heat"><tr><th>column</th>'
            + "".join(f"<th>{w.seq}</th>" for w in windows)
            + "</tr>"
        )
        for col in columns:
            cells = []
            for w in windows:
                f = _findings(w, "data_drift").get(col)
                if f is None:
                    cells.append("<td>-</td>")
                    continue
                cls = "flag" if f.get("flagged") else ("" if f.get("tested") else "skip")
                tip = _e(f.get("reason", ""))
                cells.append(
                    f'<td class="{cls}" title="{tip}">{_fmt(_num(f.get("magnitude")))}</td>'
                )
            out.append(f"<tr><th>{_e(col)}</th>{''.join(cells)}</tr>")
        out.append("</table>")
    out.append('<h2 id="checks">Model-shift checks</h2>')
    if report.checks:
        out.append(
            "<table><tr><th>#</th><th>kind</th><th>result</th><th>at</th><th>by</th>"
            "<th>details</th></tr>"
        )
        for ch in report.checks:
            result = '<span class="ok">passed</span>' if ch.passed else '<b class="flag">FAILED</b>'
            details = json.dumps(json_safe(ch.details), sort_keys=True)[:600]
            out.append(
                f"<tr><td>{ch.seq}</td><td>{_e(ch.kind.value)}</td><td>{result}</td>"
                f"<td>{_e(ch.at.isoformat(timespec='seconds'))}</td><td>{_e(ch.by)}</td>"
                f"<td><pre>{_e(details)}</pre></td></tr>"
            )
        out.append("</table>")
    else:
        out.append('<p class="muted">none recorded</p>')
    out.append(f"<h2>All alerts ({len(report.alerts)})</h2>")
    if report.alerts:
        out += [head, *(_alert_row(a) for a in report.alerts), "</table>"]
        for al in report.alerts:
            if al.notes:
                out.append(f"<h3>Alert {_e(al.id[:12])}: {_e(al.title)}</h3><ul>")
                out += [
                    f"<li>{_e(n.at.isoformat(timespec='seconds'))} {_e(n.who)} {_e(n.what)}"
                    + (f": {_e(n.text)}" if n.text else "")
                    + "</li>"
                    for n in al.notes
                ]
                out.append("</ul>")
    else:
        out.append('<p class="muted">none</p>')
    return "\n".join(out)
