"""Chapter 5: the ML engineer asks whether production inputs still look like the training data."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

SHIFTED = {"mean radius": 1.25, "mean texture": 1.2}


def check_drift(console: Console, report_dir: Path) -> list[str]:
    """Compare the training split with two 'production' windows: one like it, one shifted."""
    import pandas as pd
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    import relayml as relay

    bunch = load_breast_cancer(as_frame=True)
    train, live = train_test_split(bunch.data, test_size=0.4, random_state=1)
    shifted = live.copy()
    for column, factor in SHIFTED.items():
        shifted[column] = shifted[column] * factor  # e.g. a sensor recalibrated upstream

    console.print(
        f"Reference: the {len(train)} training rows. Two windows of {len(live)} live rows: "
        "this week's (unchanged) and next month's (two inputs re-scaled upstream)."
    )
    table = Table(title="Data shift per window", title_justify="left")
    for col in ("window", "columns checked", "drifted"):
        table.add_column(col)
    drifted: list[str] = []
    reasons: list[str] = []
    for label, window in (("this week", live), ("next month", shifted)):
        report = relay.drift.compare(pd.DataFrame(train), pd.DataFrame(window))
        table.add_row(label, str(len(bunch.data.columns)), ", ".join(report.drifted) or "none")
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
