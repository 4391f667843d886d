"""A drift report as one self-contained HTML page: inline CSS and SVG, no script, no CDN.

`body` is the page's content without its document shell: the web UI shows the same content in
its own layout (its stylesheet carries the rules of `CSS` it needs, under `.drift-report`), so
the page a user downloads and the page the UI shows cannot differ. Nothing here uses a style
attribute, so the UI's Content-Security-Policy (no inline styles) holds.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relayml.stats.drift import ColumnDrift, DriftReport
    from relayml.stats.histograms import Histogram

REF_COLOR = "#4c78a8"
CUR_COLOR = "#f58518"

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem} .muted{color:#666} table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #e5e5e5;vertical-align:top}
th{background:#fafafa} .pill{display:inline-block;padding:.1rem .55rem;border-radius:1rem;
font-size:.85rem;font-weight:600} .yes{background:#fde2e1;color:#a4161a}
.no{background:#e3f4e8;color:#1e6b34} .col{border:1px solid #e5e5e5;border-radius:.5rem;
padding:1rem;margin:1rem 0} .grid{display:grid;grid-template-columns:440px 1fr;gap:1rem}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 .8rem;
vertical-align:middle} .legend .ref{background:#4c78a8} .legend .cur{background:#f58518}
code{background:#f4f4f4;padding:0 .2rem} td.num{font-variant-numeric:tabular-nums}
"""


def _fmt(x: float) -> str:
    if x != x:
        return "-"
    if x == 0:
        return "0"
    if abs(x) < 1e-3 or abs(x) >= 1e5:
        return f"{x:.3g}"
    return f"{x:.4g}"


def _pill(drifted: bool) -> str:
    return (
        '<span class="pill yes">drifted</span>'
        if drifted
        else '<span class="pill no">stable</span>'
    )


def histogram_svg(h: Histogram, width: int = 420, height: int = 170) -> str:
    """Overlaid bars (reference behind, current in front) as inline SVG."""
    k = len(h.reference)
    if k == 0:
        return '<p class="muted">no values to plot</p>'
    pad_l, pad_b = 6, 34 if h.labels else 20
    plot_w, plot_h = width - 2 * pad_l, height - pad_b - 6
    top = max(max(h.reference), max(h.current), 1e-12)
    step = plot_w / k
    parts = [
        f'<svg width="{width}" height="{height}" '
        f'role="img" aria-label="reference and current distributions">'
    ]
    for i, (r, c) in enumerate(zip(h.reference, h.current, strict=True)):
        x = pad_l + i * step
        for value, color, inset, opacity in ((r, REF_COLOR, 0.08, 0.55), (c, CUR_COLOR, 0.3, 0.75)):
            bh = plot_h * value / top
            parts.append(
                f'<rect x="{x + step * inset:.1f}" y="{6 + plot_h - bh:.1f}" '
                f'width="{max(step * (1 - 2 * inset), 1):.1f}" height="{bh:.1f}" fill="{color}" '
                f'fill-opacity="{opacity}"><title>{escape(_bin_label(h, i))}: reference '
                f"{r:.1%}, current {c:.1%}</title></rect>"
            )
    base = 6 + plot_h
    parts.append(
        f'<line x1="{pad_l}" y1="{base}" x2="{pad_l + plot_w}" y2="{base}" stroke="#999"/>'
    )
    if h.labels:
        for i, label in enumerate(h.labels):
            x = pad_l + (i + 0.5) * step
            text = escape(label if len(label) <= 8 else label[:7] + "…")
            parts.append(
                f'<text x="{x:.1f}" y="{base + 12}" font-size="9" text-anchor="end" '
                f'transform="rotate(-35 {x:.1f} {base + 12})">{text}</text>'
            )
    elif h.edges:
        for x_val, anchor, x in (
            (h.edges[0], "start", pad_l),
            (h.edges[-1], "end", pad_l + plot_w),
        ):
            parts.append(
                f'<text x="{x}" y="{base + 14}" font-size="10" text-anchor="{anchor}">'
                f"{escape(_fmt(x_val))}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _bin_label(h: Histogram, i: int) -> str:
    if h.labels:
        return h.labels[i]
    if h.edges:
        return f"{_fmt(h.edges[i])} to {_fmt(h.edges[i + 1])}"
    return str(i)


def _signals_table(col: ColumnDrift) -> str:
    rows = []
    for s in col.signals:
        for j, e in enumerate(s.effects):
            test = (
                f"<td rowspan='{len(s.effects)}'>{escape(s.name)} ({escape(s.test)})</td>"
                f"<td rowspan='{len(s.effects)}' class='num'>{_fmt(s.pvalue)} → "
                f"{_fmt(s.pvalue_adjusted)} {'✔' if s.credible else '✘'}</td>"
                if j == 0
                else ""
            )
            rows.append(
                f"<tr>{test}<td>{escape(e.name)}</td><td class='num'>{_fmt(e.value)} - "
                f"{_fmt(e.null)} = {_fmt(e.adjusted)}</td><td class='num'>{_fmt(e.threshold)} "
                f"{'✔' if e.large else '✘'}</td></tr>"
            )
    head = (
        "<tr><th>question (test)</th><th>p → adjusted</th><th>effect</th>"
        "<th>observed - noise = effect</th><th>threshold</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _column_section(col: ColumnDrift, h: str = "h3") -> str:
    st = col.statistics
    facts = [
        ("rows (reference / current)", f"{col.n_reference:,} / {col.n_current:,}"),
        (
            "missing (reference / current)",
            f"{st.get('missing_rate_reference', 0):.1%} / {st.get('missing_rate_current', 0):.1%}",
        ),
    ]
    if "reference_mean" in st:
        facts.append(
            (
                "mean (reference / current)",
                f"{_fmt(st['reference_mean'])} / {_fmt(st['current_mean'])}",
            )
        )
        facts.append(
            (
                "spread, sd (reference / current)",
                f"{_fmt(st['reference_std'])} / {_fmt(st['current_std'])}",
            )
        )
    other = ", ".join(
        f"{escape(k)} {_fmt(v)}"
        for k, v in st.items()
        if k not in {"reference_mean", "current_mean", "reference_std", "current_std"}
        and not k.startswith("missing_rate")
    )
    fact_rows = "".join(f"<tr><th>{escape(a)}</th><td>{escape(b)}</td></tr>" for a, b in facts)
    return (
        f'<div class="col" id="col-{escape(col.name)}"><{h}>{escape(col.name)} '
        f'<span class="muted">({escape(col.kind.value)})</span> {_pill(col.drifted)}</{h}>'
        f"<p><strong>{escape(col.reason)}</strong></p>"
        f'<div class="grid"><div>{histogram_svg(col.histogram)}<div class="legend muted">'
        '<span class="ref"></span>reference<span class="cur"></span>current</div></div>'
        f"<div><table>{fact_rows}</table></div></div>"
        f"<details><summary>tests and effect sizes</summary>{_signals_table(col)}"
        f'<p class="muted">all statistics: {other}</p></details></div>'
    )


def headline(report: DriftReport) -> str:
    drifted = report.drifted
    if drifted:
        return f"{len(drifted)} of {len(report.columns)} columns changed enough to matter"
    return f"None of the {len(report.columns)} columns changed enough to matter"


def body(report: DriftReport, *, level: int = 2) -> str:
    """The report's content (sizes, headline, rule, overview, columns), headings from
    ``level`` down, escaped throughout."""
    h, h2 = f"h{level}", f"h{level + 1}"
    t = report.thresholds
    overview = "".join(
        f"<tr><td><a href='#col-{escape(c.name)}'>{escape(c.name)}</a></td>"
        f"<td>{escape(c.kind.value)}</td><td>{_pill(c.drifted)}</td><td>{escape(c.reason)}</td></tr>"
        for c in sorted(report.columns.values(), key=lambda c: (not c.drifted, c.name))
    )
    rule = (
        "A column is flagged only when its change is <em>credible</em> (p-value below "
        f"{t.alpha:g} after Benjamini-Hochberg correction for testing many columns) <em>and</em> "
        "<em>large</em> (an effect size, after removing what sampling noise alone would give, "
        f"reaches its threshold: mean move {t.wasserstein:g} sd, PSI {t.psi:g}, "
        f"{t.total_variation:.0%} of rows changing category, missing share ±{t.missing_rate:.0%}, "
        f"{t.unseen_share:.0%} of rows in new categories)."
    )
    extra = ""
    if report.classifier is not None:
        extra += f"<{h}>Joint distribution</{h}><p>{escape(report.classifier.reason)}</p>"
    if report.skipped:
        items = "".join(f"<li>{escape(k)}: {escape(v)}</li>" for k, v in report.skipped.items())
        extra += f"<{h}>Not compared</{h}><ul>{items}</ul>"
    sections = "".join(_column_section(c, h2) for c in report.columns.values())
    return (
        f"<p class='muted'>reference {report.n_reference:,} rows · current "
        f"{report.n_current:,} rows</p><{h}>{escape(headline(report))}</{h}><p>{rule}</p>"
        "<table><tr><th>column</th><th>kind</th><th>decision</th><th>why</th></tr>"
        f"{overview}</table>{extra}<{h}>Columns</{h}>{sections}"
    )


def render(report: DriftReport, *, title: str = "Data drift report") -> str:
    """The whole page as a string."""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{escape(title)}"
        f"</title><style>{CSS}</style></head><body><h1>{escape(title)}</h1>"
        f"{body(report)}</body></html>"
    )
