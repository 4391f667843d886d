"""Compare 2 to 10 runs: params side by side (differences marked), latest metrics, one metric's
curves overlaid, and parallel coordinates drawn as SVG on the server (their numbers are the
tables above them)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from starlette.responses import Response

from relayml.domain.tracking import RunRecord
from relayml.errors import InvalidInput
from relayml.ui.pages.experiments import MAX_CHART_POINTS, histories, run_in_project
from relayml.ui.table import thin
from relayml.ui.web import Area, Context

area = Area()
MAX_RUNS = 10
MAX_AXES = 8
PALETTE = (
    "#1f5fbf",
    "#c2410c",
    "#15803d",
    "#7e22ce",
    "#b91c1c",
    "#0e7490",
    "#a16207",
    "#be185d",
    "#4d7c0f",
    "#334155",
)


@dataclass(frozen=True)
class Axis:
    label: str
    x: float
    low: float
    high: float


@dataclass(frozen=True)
class Line:
    name: str
    color: str
    points: str  # SVG polyline points


@dataclass(frozen=True)
class ParCoords:
    width: int
    height: int
    top: int
    bottom: int
    axes: list[Axis]
    lines: list[Line]


def _number(text: str | float | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parallel(runs: list[RunRecord], params: list[str], metrics: list[str]) -> ParCoords | None:
    """Axes: the numeric params that differ, then the metrics every run has (at most 8)."""
    columns: list[tuple[str, list[float]]] = []
    for kind, keys in (("param", params), ("metric", metrics)):
        for key in keys:
            values = [
                _number(r.params.get(key) if kind == "param" else r.metrics.get(key)) for r in runs
            ]
            numbers = [v for v in values if v is not None]
            if len(numbers) == len(runs) and (kind == "metric" or len(set(numbers)) > 1):
                columns.append((key, numbers))
    columns = columns[:MAX_AXES]
    if len(columns) < 2:
        return None
    width, height, left, right, top, bottom = 900, 340, 60, 60, 30, 300
    step = (width - left - right) / (len(columns) - 1)
    axes = []
    ys: list[list[float]] = [[] for _ in runs]
    for i, (label, numbers) in enumerate(columns):
        low, high = min(numbers), max(numbers)
        axes.append(Axis(label, left + i * step, low, high))
        for j, v in enumerate(numbers):
            share = 0.5 if high == low else (v - low) / (high - low)
            ys[j].append(bottom - share * (bottom - top))
    lines = [
        Line(
            _run_label(r, runs),
            PALETTE[j % len(PALETTE)],
            " ".join(f"{a.x:.1f},{y:.1f}" for a, y in zip(axes, ys[j], strict=True)),
        )
        for j, r in enumerate(runs)
    ]
    return ParCoords(width, height, top, bottom, axes, lines)


def _run_label(run: RunRecord, runs: list[RunRecord]) -> str:
    same = sum(1 for r in runs if r.name == run.name)
    return run.name if same == 1 else f"{run.name} ({run.id[:6]})"


@area.get("/p/{project}/compare")
def compare(ctx: Context) -> Response:
    ids = list(dict.fromkeys(ctx.args("run")))
    if not 2 <= len(ids) <= MAX_RUNS:
        raise InvalidInput(
            f"pick 2 to {MAX_RUNS} runs to compare (you picked {len(ids)}): tick them in the "
            "runs table and press Compare"
        )
    runs = [run_in_project(ctx, i) for i in ids]
    param_keys = sorted({k for r in runs for k in r.params})
    metric_keys = sorted({k for r in runs for k in r.metrics})
    only_diff = ctx.arg("diff") == "1"
    params = []
    for key in param_keys:
        values = [r.params.get(key) for r in runs]
        differs = len(set(values)) > 1
        if differs or not only_diff:
            params.append((key, values, differs))
    everywhere = [k for k in metric_keys if all(k in r.metrics for r in runs)]
    metric = ctx.arg("metric") or (everywhere or metric_keys or [""])[0]
    if metric and metric not in metric_keys:
        raise InvalidInput(f"none of these runs has a metric {metric!r}; pick one of theirs")
    series = []
    if metric:
        for r in runs:
            if metric in r.metrics:
                pts = histories(ctx, r, [metric])[metric]
                series.append({"name": _run_label(r, runs), "points": thin(pts, MAX_CHART_POINTS)})
    differing = [k for k, _, d in params if d]
    return ctx.render(
        "experiments/compare.html",
        runs=runs,
        labels=[_run_label(r, runs) for r in runs],
        colors=[PALETTE[i % len(PALETTE)] for i in range(len(runs))],
        params=params,
        only_diff=only_diff,
        metric_keys=metric_keys,
        metric=metric,
        chart={"series": series, "ylabel": metric},
        parcoords=parallel(runs, differing, everywhere),
        charts=bool(series),
    )
