"""Step outputs by reference: what a step returns becomes a file (Parquet for tables, the file
itself for a path), a dataset reference or an inline JSON value; the next step gets it back
as the same kind of object. Nothing is pickled between processes.

`save` and `load` run in the worker process; `digest_of_value` in the runner.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from relayml.domain.pipelines import StepOutput
from relayml.errors import InvalidInput

TABLE_FILE = "output.parquet"
SUPPORTED = (
    "a relay.Dataset, a pandas/polars DataFrame or pyarrow Table, a pathlib.Path to a file, "
    "or a JSON value (str, number, bool, None, list, dict)"
)


@dataclass(frozen=True)
class Saved:
    """What `save` wrote, for the runner to store: a JSON value, a dataset ref, or the path of a
    file (a Parquet table in `format`, or the file the step returned, called `name`)."""

    kind: str  # "value", "dataset", "table" or "file"
    value: Any = None
    ref: str | None = None
    path: str | None = None
    format: str | None = None
    name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Saved:
        return cls(**d)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def digest_of_value(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def _is_dataset(value: Any) -> bool:
    cls = type(value)
    return (
        cls.__name__ == "Dataset"
        and cls.__module__.startswith("relayml.")
        and isinstance(getattr(value, "ref", None), str)
    )


def _table_format(value: Any) -> str | None:
    for module, cls, fmt in (
        ("pandas", "DataFrame", "pandas"),
        ("pyarrow", "Table", "arrow"),
        ("polars", "DataFrame", "polars"),
    ):
        mod = sys.modules.get(module)
        if mod is not None and isinstance(value, getattr(mod, cls)):
            return fmt
    return None


def save(value: Any, out_dir: str) -> Saved:
    """Write a step's return value where the runner will pick it up; return its description."""
    if _is_dataset(value):
        return Saved("dataset", ref=value.ref)
    fmt = _table_format(value)
    if fmt is not None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if fmt == "pandas":
            table = pa.Table.from_pandas(value)
        elif fmt == "polars":
            table = value.to_arrow()
        else:
            table = value
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, TABLE_FILE)
        pq.write_table(table, path)
        return Saved("table", path=path, format=fmt)
    if isinstance(value, os.PathLike) and not isinstance(value, str):
        file = Path(value).resolve()
        if not file.is_file():
            raise InvalidInput(
                f"the step returned the path {str(file)!r}, which is not a file; return the "
                "path of a file it wrote (zip a folder first)"
            )
        return Saved("file", path=str(file), name=file.name)
    try:
        canonical_json(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"the step returned a {type(value).__name__}; return {SUPPORTED}"
        ) from None
    return Saved("value", value=value)


def load(output: StepOutput, path: str | None) -> tuple[Any, str | None]:
    """The object an upstream output stands for, and its dataset ref if it is a dataset.

    `path` is the local copy of its blob (tables and files)."""
    kind = output.kind
    if kind == "value":
        return output.value, None
    if kind == "dataset":
        ref = str(output.ref)
        try:
            from relayml import datasets  # type: ignore[attr-defined, unused-ignore]
        except ImportError:
            raise InvalidInput(
                f"the upstream step returned the dataset {ref}, but relayml.datasets is not "
                "available in this installation"
            ) from None
        return datasets.get(ref), ref
    if kind == "file":
        return Path(str(path)), None
    if kind == "table":
        import pyarrow.parquet as pq

        table = pq.read_table(str(path))
        fmt = output.format
        if fmt == "pandas":
            return table.to_pandas(), None
        if fmt == "polars":
            import polars  # type: ignore[import-not-found, unused-ignore]

            return polars.from_arrow(table), None
        return table, None
    raise InvalidInput(f"unknown step output kind {kind!r}")
