"""`relay drift REF CUR`: compare two Parquet or CSV files, or a dataset version with data;
the exit code makes it a CI gate.

Exit codes: 0 no drift (or drift without --fail-on-drift); 1 drift found with --fail-on-drift
(EXIT_DRIFT); user errors exit with their RelayError class's code (2 for bad input).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from relayml.cli import options, output

EXIT_DRIFT = output.EXIT_CHECK_FAILED


def drift(
    ref: str,
    cur: str,
    html: Path | None = None,
    json_out: Path | None = None,
    fail_on_drift: bool = False,
    categorical: list[str] | None = None,
    columns: list[str] | None = None,
    exclude: list[str] | None = None,
    dtypes: list[str] | None = None,
) -> int:
    """Compare, print a table, write the requested files; return the exit code."""
    from rich.console import Console
    from rich.table import Table

    from relayml.drift import compare

    report = compare(
        ref,
        cur,
        columns=columns or None,
        categorical=categorical or None,
        exclude=exclude or None,
        dtypes=options.dtypes(dtypes),
    )
    console = Console()
    table = Table(title=f"Drift: {cur} vs {ref}", show_lines=False)
    for header, justify in (
        ("column", "left"),
        ("kind", "left"),
        ("decision", "left"),
        ("effect", "right"),
        ("adj. p", "right"),
        ("why", "left"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for col in report:
        p = min((s.pvalue_adjusted for s in col.signals), default=1.0)
        decision = "[bold red]DRIFTED[/]" if col.drifted else "[green]stable[/]"
        table.add_row(
            col.name,
            col.kind.value,
            decision,
            f"{col.effect_size:.3f}",
            f"{p:.2g}",
            col.reason,
        )
    for name, why in report.skipped.items():
        table.add_row(name, "", "[dim]skipped[/]", "", "", why)
    console.print(table)
    console.print(report.summary())
    if html is not None:
        report.to_html(html)
        console.print(f"HTML report: {html}")
    if json_out is not None:
        report.to_json(json_out)
        console.print(f"JSON report: {json_out}")
    return EXIT_DRIFT if (fail_on_drift and report.drifted) else 0


def drift_command(
    ref: Annotated[
        str,
        typer.Argument(
            help="Reference data: a Parquet file or folder, a CSV file, or a dataset version "
            "(loans@3: its stored summary is the reference)."
        ),
    ],
    cur: Annotated[
        str,
        typer.Argument(
            help="Current data: a Parquet file or folder, a CSV file, or a dataset version."
        ),
    ],
    html: Annotated[Path | None, typer.Option("--html", help="Write an HTML report here.")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the report as JSON here.")
    ] = None,
    fail_on_drift: Annotated[
        bool,
        typer.Option("--fail-on-drift", help=f"Exit with code {EXIT_DRIFT} if any column drifted."),
    ] = False,
    categorical: Annotated[
        list[str] | None,
        typer.Option("--categorical", "-c", help="Compare this column as categories (repeatable)."),
    ] = None,
    columns: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            help="Compare only this column (repeatable); also forces an id-like column.",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", help="Do not compare this column (repeatable)."),
    ] = None,
    dtypes: options.DtypeOpt = None,
) -> None:
    """Compare CUR with REF column by column and say which columns drifted, and why.

    Columns unique on every row (ids) are skipped unless named with --column.
    """
    code = drift(ref, cur, html, json_out, fail_on_drift, categorical, columns, exclude, dtypes)
    if code:
        raise typer.Exit(code=code)


def register(app: typer.Typer) -> None:
    app.command("drift")(drift_command)
