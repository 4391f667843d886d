"""Chapter 1: the data engineer turns raw exports into a validated, versioned dataset; a broken
export is quarantined by the contract instead of reaching the data scientists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from relayml.errors import RelayError

CONTRACT = """\
name: tumours
description: One row per biopsy; what the models in the demo train on.
columns:
  patient_id: {type: int64, unique: true, nullable: false}
  mean_radius: {type: float, nullable: false, min: 0, max: 60}
  mean_texture: {type: float, nullable: false, min: 0, max: 60}
  mean_area: {type: float, nullable: false, min: 0}
  diagnosis: {type: int64, nullable: false, allowed: [0, 1]}
checks:
  - row_count: {min: 100}
"""


def write_raw_exports(folder: Path) -> tuple[Path, Path]:
    """A clean lab export (with the duplicates and gaps real exports have) and a broken one."""
    from sklearn.datasets import load_breast_cancer

    folder.mkdir(parents=True, exist_ok=True)
    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "diagnosis"})
    frame.insert(0, "patient id", range(10_000, 10_000 + len(frame)))
    messy = frame.copy()
    messy.loc[len(messy)] = messy.iloc[3]  # an exact duplicate row
    messy.loc[7, "diagnosis"] = None  # a patient without a diagnosis yet
    good = folder / "lab-export-2026-11.csv"
    messy.to_csv(good, index=False)

    broken = frame.sample(200, random_state=7).copy()
    broken["patient id"] = range(20_000, 20_200)
    broken.loc[broken.index[:12], "mean radius"] *= -1  # a sign flip in the new export
    broken.loc[broken.index[12:20], "diagnosis"] = 2  # an unknown class code
    bad = folder / "lab-export-2026-12.csv"
    broken.to_csv(bad, index=False)
    return good, bad


def prepare_data(console: Console, home: Path) -> Any:
    """Run the pipeline on both exports; return the validated dataset version."""
    import relayml as relay

    folder = home / "demo-data"
    good, bad = write_raw_exports(folder)
    contract = folder / "tumours.contract.yaml"
    contract.write_text(CONTRACT)
    console.print(
        f"Raw lab exports in {folder}; the contract {contract.name} says what the data must look "
        "like (types, ranges, allowed codes, unique patient ids)."
    )
    results = []
    for raw in (good, bad):
        with console.status(f"pipeline prepare on {raw.name} (ingest → clean → publish)"):
            run = relay.pipelines.run(
                "relayml.demo.etl:prepare",
                params={"raw_path": str(raw), "contract_path": str(contract)},
            )
        run.raise_for_status()
        published = run.step("publish").output
        assert published is not None and published.ref is not None
        # the broken export's version is quarantined: reading it must be explicit
        ds = relay.datasets.get(published.ref, allow_quarantined=True)
        results.append((raw, run, ds))

    table = Table(title="Pipeline runs and what they published", title_justify="left")
    table.add_column("export")
    table.add_column("steps")
    table.add_column("dataset")
    table.add_column("rows", justify="right")
    table.add_column("status")
    table.add_column("failed checks", overflow="fold")
    for raw, run, ds in results:
        ok = sum(s.status.ok for s in run.steps)
        failed = [c for c in ds.quality.checks if not c.passed] if ds.quality else []
        status = ds.status.value
        table.add_row(
            raw.stem.removeprefix("lab-export-"),
            f"{ok}/{len(run.steps)} ok",
            ds.ref,
            str(ds.rows),
            f"[red]{status}[/]" if status == "quarantined" else f"[green]{status}[/]",
            ", ".join(f"{c.name} ({c.failing_count} rows)" for c in failed) or "none",
        )
    console.print(table)
    validated, quarantined = results[0][2], results[1][2]
    if quarantined.status.value == "quarantined":
        try:
            relay.datasets.get(quarantined.ref)
        except relay.Unprocessable as exc:
            console.print(f"[red]✗[/] reading {quarantined.ref}: {exc.message.splitlines()[0]}")
    console.print(
        f"[green]✓[/] {validated.ref} is validated: {validated.rows} rows, digest "
        f"{validated.digest[:12]}…; the data scientists train on it."
    )
    schedule_nightly(console)
    return validated


NIGHTLY = "nightly_prepare"


def schedule_nightly(console: Console) -> None:
    """The lab exports every night: schedule the pipeline, then pause it for a known outage."""
    import relayml as relay

    info = relay.pipelines.register(f"relayml.demo.etl:{NIGHTLY}")
    if info.paused is None:  # a demo told again finds it paused already
        when = f"{info.next_run:%Y-%m-%d %H:%M} UTC" if info.next_run else "-"
        console.print(
            f"Scheduled {NIGHTLY} at '{info.schedule}' (UTC) for the lab's nightly export; "
            f"next run {when}."
        )
        info = relay.pipelines.pause(NIGHTLY, "the lab's export moves to a new server this week")
    console.print(
        f"[yellow]⏸[/] {NIGHTLY} is {info.paused}. `relay pipelines resume {NIGHTLY}` "
        f"starts it again; `relay pipelines backfill {NIGHTLY} --from DAY --to DAY` runs the "
        "nights it missed."
    )


# The clinics' scanners are recalibrated (chapter 9): every size they measure reads 30 % long,
# so lengths (radius, perimeter) scale by 1.3 and areas by 1.3², while texture, smoothness,
# concavity and the rest stay as they were.
SCANNER_SCALE = 1.3
SIZES = ("radius", "perimeter", "area")


def recalibrated(column: str) -> float:
    """How much the recalibrated scanner scales `column` (1.0: not at all)."""
    size = next((s for s in SIZES if s in column), None)
    if size is None:
        return 1.0
    return SCANNER_SCALE**2 if size == "area" else SCANNER_SCALE


def remeasure(frame: Any) -> Any:
    """`frame` as the recalibrated scanner would have measured it."""
    out = frame.copy()
    for column in out.columns:
        if (factor := recalibrated(column)) != 1.0:
            out[column] = out[column] * factor
    return out


def publish_remeasured(home: Path, tumours: Any) -> tuple[str, str]:
    """What the lab re-measured on the recalibrated scanners, published by the data engineer:
    its archive of `tumours`' training biopsies through the prepare pipeline (a new tumours
    version) and this month's biopsied patients as a new holdout version; both refs."""
    import relayml as relay
    from relayml.demo.registry import split

    frame = tumours.to_pandas()
    x_train, x_val, _, y_val = split(tumours)
    folder = home / "demo-data"
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / "lab-export-2027-01-rescanned.csv"
    remeasure(frame.loc[x_train.index]).to_csv(export, index=False)
    contract = folder / "tumours.contract.yaml"
    run = relay.pipelines.run(
        "relayml.demo.etl:prepare",
        params={"raw_path": str(export), "contract_path": str(contract)},
    )
    run.raise_for_status()
    published = run.step("publish").output
    if published is None or published.ref is None:
        raise RelayError(f"pipeline prepare published nothing from {export}")
    holdout = remeasure(x_val).assign(diagnosis=y_val.to_numpy())
    evaluation = relay.datasets.publish(
        "holdout", holdout, description="this month's biopsies, recalibrated scanners"
    )
    return str(published.ref), str(evaluation.ref)
