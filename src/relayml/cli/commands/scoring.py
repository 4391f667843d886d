"""`relay score`: batch scoring of a Parquet or CSV table with a registry model.

relay score churn@production input.parquet -o scored.parquet
relay score churn@3 big/ -o scored.parquet --executor ray --columns-out customer_id
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from relayml.cli import options, output, state


def score(
    ref: Annotated[str, typer.Argument(help="The model: churn@production, churn@3 or churn.")],
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT", help="A Parquet file, a folder of Parquet files, or a CSV file."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--output", "-o", help="The scored Parquet file to write.")
    ] = Path("scored.parquet"),
    executor: Annotated[
        str, typer.Option("--executor", help="local (this process) or ray (Ray Data).")
    ] = "local",
    batch_rows: Annotated[
        int, typer.Option("--batch-rows", help="Rows read and predicted at a time.")
    ] = 65_536,
    columns_out: Annotated[
        list[str] | None,
        typer.Option(
            "--columns-out",
            help="Input columns to copy to the output (comma-separated or repeated; default "
            "all; '' for none). The prediction columns are always written.",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Ray: scoring actors (default: the cluster's CPUs - 1)."),
    ] = None,
    unsafe_pickle: Annotated[
        bool, typer.Option("--unsafe-pickle", help="Allow a pickled model (it runs code on load).")
    ] = False,
    dtypes: options.DtypeOpt = None,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Project (default: the global one).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Score a Parquet or CSV table of any size with a registry model (here or on Ray).

    Writes OUTPUT (Parquet): INPUT's columns, prediction and, for classifiers,
    probability_<class>; the model's version and digest are in its schema metadata
    (relay.scoring). Bounded memory; the output appears whole or not at all."""
    from relayml.scoring import score as run_score

    kept = None
    if columns_out is not None:
        kept = [c.strip() for item in columns_out for c in item.split(",") if c.strip()]
    with _bar(input_path, transient=as_json) as progress:
        result = run_score(
            ref, input_path, out, executor=executor, batch_rows=batch_rows, columns_out=kept,
            dtypes=options.dtypes(dtypes), workers=workers, unsafe_pickle=unsafe_pickle,
            project=state.project(project), progress=progress,
        )  # fmt: skip
    if as_json:
        output.emit_json(result.to_dict())
        return
    v = result.version
    rate = result.rows / result.seconds if result.seconds > 0 else 0.0
    output.print_(
        f"scored {result.rows:,} rows with {v.ref} (asked {output.escape(ref)}, sha256 "
        f"{v.digest[:12]}) into {output.escape(str(out))} in {result.seconds:.1f} s "
        f"({rate:,.0f} rows/s, {result.executor})"
    )


@contextmanager
def _bar(path: Path, transient: bool) -> Iterator[Any]:
    """A progress callback drawing a bar on a terminal; None when the output is piped."""
    if not output.console().is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"),
        TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=output.console(), transient=transient) as bars:
        task = bars.add_task(f"scoring {path.name}", total=None, count="0 rows")

        def progress(rows: int, total: int | None) -> None:
            bars.update(task, completed=rows, total=total, count=f"{rows:,} rows")

        yield progress


def register(app: typer.Typer) -> None:
    app.command("score")(score)
