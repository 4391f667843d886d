"""Chapter 5: the ML engineer asks whether production inputs still look like the training data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

SHIFTED = {"mean_radius": 1.25, "mean_texture": 1.2}


def check_drift(console: Console, report_dir: Path, dataset: Any) -> list[str]:
    """Compare the training dataset's stored profile with two 'production' windows: one like
    it, one shifted."""
    import relayml as relay

    frame = dataset.to_pandas().drop(columns=["patient_id", "diagnosis"])
    live = frame.sample(frac=0.4, random_state=1)
    shifted = live.copy()
    for column, factor in SHIFTED.items():
        shifted[column] = shifted[column] * factor  # e.g. a sensor recalibrated upstream
    features = list(frame.columns)

    console.print(
        f"Reference: the profile stored with {dataset.ref} at publish time (no re-read of the "
        f"training data). Two windows of {len(live)} live rows: this week's (unchanged) and "
        "next month's (two inputs re-scaled upstream)."
    )
    table = Table(title="Data shift per window", title_justify="left")
    for col in ("window", "columns checked", "drifted"):
        table.add_column(col)
    drifted: list[str] = []
    reasons: list[str] = []
    for label, window in (("this week", live), ("next month", shifted)):
        report = relay.drift.compare(dataset.ref, window, columns=features)
        table.add_row(label, str(len(features)), ", ".join(report.drifted) or "none")
        if label == "next month":
            report_dir.mkdir(parents=True, exist_ok=True)
            report.to_html(report_dir / "drift.html")
            drifted = list(report.drifted)
            reasons = [f"  • {c}: {report[c].reason}" for c in drifted]
    console.print(table)
    console.print("Why, for next month:")
    for line in reasons:
        console.print(line)
    console.print(
        f"The full report for stakeholders, one self-contained page: {report_dir / 'drift.html'}"
    )
    return drifted
