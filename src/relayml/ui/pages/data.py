"""Data: the project's datasets, a dataset's versions, and a version's page (its profile with
per-column distributions, its quality report, its status and the actions that change it, its
lineage as a graph, and "compare with..." for the drift page)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from relayml.domain.datasets import DatasetStatus, DatasetVersion, LineageNode
from relayml.domain.roles import Action
from relayml.errors import InvalidInput, NotFound, PermissionDenied
from relayml.ui.graph import Graph, Node
from relayml.ui.web import Area, Context, NavItem

area = Area(NavItem("Data", "datasets", Action.DATASET_READ, 30))
MAX_DATASETS = 500
MAX_LINEAGE_RUNS = 25
PROFILE_KEYS = (
    *("type", "kind", "count", "missing", "distinct", "distinct_approx", "min", "max"),
    *("mean", "std", "quantiles", "quantiles_approx", "histogram", "top", "top_approx"),
)
"""What a column's profile may hold (numeric columns have no top, categorical ones no mean)."""
STATUS_ACTIONS = ("quarantine", "release", "deprecate", "undeprecate")


@area.get("/p/{project}/datasets")
def datasets(ctx: Context) -> Response:
    s, who, p = ctx.services, ctx.who, ctx.project
    found = s.datasets.list_datasets(who, p)
    rows = []
    for info in found[:MAX_DATASETS]:
        versions = s.datasets.versions(who, p, info.name)
        rows.append((info, versions[-1] if versions else None))
    return ctx.render(
        "data/datasets.html", rows=rows, total=len(found), shown=min(len(found), MAX_DATASETS)
    )


@area.get("/p/{project}/datasets/{name}")
def dataset(ctx: Context) -> Response:
    name = ctx.request.path_params["name"]
    versions = ctx.services.datasets.versions(ctx.who, ctx.project, name)
    info = next(
        (d for d in ctx.services.datasets.list_datasets(ctx.who, ctx.project) if d.name == name),
        None,
    )
    return ctx.render("data/dataset.html", name=name, info=info, versions=list(reversed(versions)))


@dataclass
class ColumnProfile:
    """One column of a version's profile, ready to show: the numbers and a histogram's bars."""

    name: str
    stats: dict[str, Any]
    bars: list[tuple[str, float, float]]  # (label, count, height as a fraction of the tallest)

    @property
    def missing_share(self) -> float:
        total = (self.stats.get("count") or 0) + (self.stats.get("missing") or 0)
        return (self.stats.get("missing") or 0) / total if total else 0.0


def profile_columns(version: DatasetVersion) -> list[ColumnProfile]:
    out = []
    for name, stats in (version.profile.get("columns") or {}).items():
        bars: list[tuple[str, float, float]] = []
        hist = stats.get("histogram")
        if hist and hist.get("counts"):
            edges, counts = hist["edges"], hist["counts"]
            bars = [
                (f"{_short(edges[i])} to {_short(edges[i + 1])}", c, 0.0)
                for i, c in enumerate(counts)
            ]
        elif stats.get("top"):
            bars = [(str(value), count, 0.0) for value, count in stats["top"]]
        tallest = max((c for _, c, _ in bars), default=0) or 1
        bars = [(label, c, c / tallest) for label, c, _ in bars]
        shown = {key: stats.get(key) for key in PROFILE_KEYS}
        out.append(ColumnProfile(str(name), shown, bars))
    return out


def _short(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


@area.get("/p/{project}/datasets/{name}/{version:int}")
def version(ctx: Context) -> Response:
    s, who, p = ctx.services, ctx.who, ctx.project
    name, number = ctx.request.path_params["name"], ctx.request.path_params["version"]
    ref = f"{name}@{number}"
    v = s.datasets.get(who, p, ref, allow_quarantined=True)
    others = [x for x in s.datasets.versions(who, p, name) if x.version != v.version]
    previous = max((x.version for x in others if x.version < v.version), default=None)
    actions = (
        [a for a in STATUS_ACTIONS if _applies(a, v)] if ctx.may(Action.DATASET_RELEASE) else []
    )
    return ctx.render(
        "data/version.html",
        v=v,
        columns=profile_columns(v),
        checks=(v.quality or {}).get("checks") or [],
        others=list(reversed(others)),
        previous=previous,
        actions=actions,
        lineage=lineage_graph(ctx, ref),
    )


def _applies(action: str, v: DatasetVersion) -> bool:
    quarantined = v.status is DatasetStatus.QUARANTINED
    return {
        "quarantine": not quarantined,
        "release": quarantined,
        "deprecate": not v.deprecated,
        "undeprecate": v.deprecated,
    }[action]


@area.post("/p/{project}/datasets/{name}/{version:int}/status")
def change_status(ctx: Context) -> Response:
    name, number = ctx.request.path_params["name"], ctx.request.path_params["version"]
    action = ctx.form.get("action", "")
    if action not in STATUS_ACTIONS:
        raise InvalidInput(f"unknown action {action!r}; one of {', '.join(STATUS_ACTIONS)}")
    change = getattr(ctx.services.datasets, action)
    change(ctx.who, ctx.project, f"{name}@{number}", ctx.form.get("reason", ""))
    return ctx.redirect(version_url(ctx, name, number) + "#status")


def dataset_url(ctx: Context, name: str) -> str:
    return ctx.url(f"datasets/{quote(name, safe='')}")


def version_url(ctx: Context, name: str, number: int | str) -> str:
    return ctx.url(f"datasets/{quote(name, safe='')}/{number}")


def _ref_url(ctx: Context, ref: str) -> str:
    name, _, number = ref.rpartition("@")
    return version_url(ctx, name, number)


def lineage_graph(ctx: Context, ref: str) -> Graph:
    """dataset → pipeline run → dataset → run → model, around one version."""
    s, who, p = ctx.services, ctx.who, ctx.project
    root = s.datasets.lineage(who, p, ref)
    graph = Graph()
    labels: dict[str, str] = {}

    def dataset_node(n: LineageNode, current: bool = False) -> Node:
        return graph.add(
            Node(
                f"d:{n.ref}",
                "dataset",
                n.ref,
                _ref_url(ctx, n.ref),
                n.status.value,
                n.status.value,
                current,
            )
        )

    def producer_node(n: LineageNode) -> Node | None:
        if not n.producer or not n.producer.get("pipeline_run"):
            return None
        run_id = n.producer["pipeline_run"]
        if run_id not in labels:
            run = _quietly(partial(s.pipelines.get_run, who, run_id))
            labels[run_id] = run.pipeline if run is not None else run_id[:12]
        return graph.add(
            Node(
                f"p:{run_id}",
                "pipeline_run",
                labels[run_id],
                ctx.url(f"pipeline-runs/{quote(run_id, safe='')}"),
                f"run {run_id[:8]}",
            )
        )

    def produced(n: LineageNode, node: Node, inputs: list[Node]) -> None:
        maker = producer_node(n)
        if maker is None:
            for parent in inputs:
                graph.link(parent, node)
            return
        for parent in inputs:
            graph.link(parent, maker)
        graph.link(maker, node, n.producer.get("step", "") if n.producer else "")

    runs_left = [MAX_LINEAGE_RUNS]

    def used_by(n: LineageNode, node: Node) -> None:
        for use in n.runs:
            if runs_left[0] <= 0:
                return
            runs_left[0] -= 1
            run = graph.add(
                Node(
                    f"r:{use.run_id}",
                    "run",
                    use.run_name or use.run_id[:12],
                    ctx.url(f"runs/{quote(use.run_id, safe='')}"),
                    use.experiment,
                )
            )
            graph.link(node, run)
            found = _quietly(partial(s.tracking.lineage, who, use.run_id))
            for model in found.models if found is not None else []:
                graph.link(
                    run,
                    graph.add(
                        Node(
                            f"m:{model}", "model", model, ctx.url("models/" + quote(model, safe=""))
                        )
                    ),
                )

    def upstream(n: LineageNode, node: Node) -> None:
        parents = [dataset_node(x) for x in n.parents]
        produced(n, node, parents)
        for x, parent in zip(n.parents, parents, strict=True):
            upstream(x, parent)

    def downstream(n: LineageNode, node: Node) -> None:
        used_by(n, node)
        for child in n.children:
            child_node = dataset_node(child)
            produced(child, child_node, [node])
            downstream(child, child_node)

    me = dataset_node(root, current=True)
    upstream(root, me)
    downstream(root, me)
    return graph.layout()


def _quietly(call: Any) -> Any:
    """A neighbour the caller may not read (another project, a narrowed role) is left out."""
    try:
        return call()
    except (PermissionDenied, NotFound):
        return None
