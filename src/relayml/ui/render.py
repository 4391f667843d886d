"""The page templates: one Jinja2 environment, autoescaping everything, strict about names.

Templates live in `ui/templates` (package data, so they ship in the wheel). Every value a page
shows is escaped unless a template says otherwise, and no template does for user text: a run
named `<script>` is shown as that text. Data for scripts goes into `<script type=
"application/json">` through `tojson`, which escapes `<`, `>` and `&`, so it cannot end its
element; the browser never executes it (and the Content-Security-Policy allows only our own
files to run).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def when(value: datetime | None) -> str:
    """A time as people read it here: UTC, to the second."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def num(value: Any) -> str:
    """A number short and exact enough to compare: 6 significant digits."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else "-∞")
    return f"{value:.6g}"


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in the largest whole unit ("3 days ago")."""
    if value is None:
        return "—"
    seconds = max(0, int(((now or datetime.now(UTC)) - value).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("relayml.ui", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, num=num, ago=ago)
    return env


def render(template: str, values: dict[str, Any]) -> str:
    return environment().get_template(template).render(values)
