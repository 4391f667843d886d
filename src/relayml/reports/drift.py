"""The drift report `relay.drift.compare` returns: the statistics' result (`stats` computes it
and renders nothing) with its HTML page."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from relayml.reports.drift_html import render
from relayml.stats.drift import DriftReport as Computed


class DriftReport(Computed):
    """A `relayml.stats.DriftReport` that can also write itself as one HTML page."""

    @classmethod
    def of(cls, report: Computed) -> DriftReport:
        return cls(**{f.name: getattr(report, f.name) for f in fields(report)})

    def to_html(self, path: str | Path | None = None, *, title: str = "Data drift report") -> str:
        """One self-contained HTML page; written to ``path`` when given."""
        html = render(self, title=title)
        if path is not None:
            Path(path).write_text(html, encoding="utf-8")
        return html
