"""Options several commands share, declared once so they read the same everywhere."""

from __future__ import annotations

from typing import Annotated

import typer

TIMES = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]  # the formats of --since/--until (UTC)
DeploymentArg = Annotated[str, typer.Argument(help="The deployment's name (e.g. churn-api).")]

DtypeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--dtype",
        help="A CSV column's type, column=type (int64, float64, string, bool, date32, "
        "timestamp[s], ...; repeatable). Others come from the contract or are inferred from "
        "the file's first 16 MB.",
    ),
]


def dtypes(items: list[str] | None) -> dict[str, str] | None:
    """The repeated --dtype options as a mapping, checked (None when there are none)."""
    if not items:
        return None
    from relayml.tables.csv import parse_dtype_options

    return parse_dtype_options(items)
