"""Rendering shared by the commands: rich tables for people, `--json` for scripts.

JSON goes to stdout through `emit_json` and nothing else is printed on stdout in that mode,
so `relay runs ls --json | jq` always works.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

PIPE_WIDTH = 200
EXIT_CHECK_FAILED = 1  # a CI gate's check failed (drift, a contract, a metric, evidence, a review)
_console: Console | None = None


def console() -> Console:
    global _console
    if _console is None:
        from rich.console import Console

        # Piped output is read by grep and people alike: do not fold long ids at 80 columns.
        wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
        _console = Console(highlight=False, width=PIPE_WIDTH if wide else None)
    return _console


def jsonable(value: Any) -> Any:
    """Plain JSON types: a wire model as the REST API writes it, dataclasses as dicts,
    datetimes as ISO text, NaN/inf as strings."""
    pydantic = sys.modules.get("pydantic")  # no model exists unless pydantic was imported
    if pydantic is not None and isinstance(value, pydantic.BaseModel):
        return json.loads(value.model_dump_json())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [jsonable(v) for v in items]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        from relayml.domain.numbers import encode_float

        return encode_float(value)
    return value


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def table(*columns: str, title: str | None = None, no_wrap: tuple[str, ...] = ()) -> Table:
    """A table; the columns named in `no_wrap` (ids, digests) are never folded."""
    from rich.table import Table

    t = Table(title=title, title_justify="left", header_style="bold cyan")
    for col in columns:
        t.add_column(col, overflow="fold", no_wrap=col in no_wrap)
    return t


def when(value: datetime | None, *, seconds: bool = True) -> str:
    if value is None:
        return "-"
    return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}" if abs(value) >= 1e4 or abs(value) < 1e-3 else f"{value:.4f}"


def status(value: str) -> str:
    color = {
        "running": "yellow",
        "finished": "green",
        "failed": "red",
        "killed": "magenta",
        "lost": "bold red",
    }
    return f"[{color.get(value, 'white')}]{value}[/]"


def print_(renderable: Any = "") -> None:
    console().print(renderable)


def warn(message: str) -> None:
    """A warning on stderr (stdout stays what the command produces)."""
    import sys

    sys.stderr.write(f"warning: {message}\n")
    sys.stderr.flush()


def note(message: str) -> None:
    """A line on stderr for people (stdout stays what the command prints, JSON included)."""
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


def check_failed(message: str) -> None:
    """A CI gate's failed check, one line on stderr (the command then exits EXIT_CHECK_FAILED)."""
    sys.stderr.write(f"check failed: {message}\n")
    sys.stderr.flush()


def escape(text: str) -> str:
    from rich.markup import escape as _escape

    return _escape(text)
