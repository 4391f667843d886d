"""The tracking area: `relay runs ls|show|compare|end` and `relay experiments ls`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from relayml.cli import output, state
from relayml.domain.tracking import RunStatus

if TYPE_CHECKING:
    from relayml.domain.tracking import RunRecord

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
MAX_METRIC_COLUMNS = 6
CONTEXT_PREFIX = "relay."


def ls(
    experiment: Annotated[
        list[str] | None,
        typer.Option("--experiment", "-e", help="Only this experiment (repeatable)."),
    ] = None,
    filter_: Annotated[
        str | None,
        typer.Option("--filter", "-f", help="e.g. \"metrics.acc > 0.9 AND params.C = '1.0'\"."),
    ] = None,
    order_by: Annotated[
        list[str] | None,
        typer.Option("--order-by", "-o", help="e.g. 'metrics.acc DESC' (repeatable)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most N runs.")] = 100,
    page_token: Annotated[
        str | None, typer.Option("--page-token", help="Continue a previous listing.")
    ] = None,
    project: Annotated[str | None, typer.Option("--project", "-p", help="Project.")] = None,
    as_json: JsonFlag = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only run ids, one per line.")
    ] = False,
) -> None:
    """Search a project's runs (newest first unless --order-by)."""
    name = state.project(project)
    with state.backend() as backend:
        page = backend.tracking.search_runs(
            project=name,
            experiments=experiment or None,
            filter=filter_,
            order_by=order_by or None,
            limit=limit,
            page_token=page_token,
        )
    more = f"more runs: add --page-token {page.next_page_token}" if page.next_page_token else ""
    if quiet:
        sys.stdout.write("".join(f"{r.id}\n" for r in page.runs))
        return
    if as_json:
        from relayml.wire.tracking import RunOut

        output.emit_json([RunOut.from_domain(r) for r in page.runs])
        if more:
            sys.stderr.write(more + "\n")
        return
    rows = [
        {
            "id": r.id,
            "experiment": r.experiment,
            "name": output.escape(r.name),
            "status": output.status(r.status.value),
            "started": output.when(r.start_time, seconds=False),
            **{k: output.number(v) for k, v in r.metrics.items()},
        }
        for r in page.runs
    ]
    columns = ["id", "experiment", "name", "status", "started"]
    keys = _metric_columns(page.runs, order_by or [])
    # On a narrow terminal keep the ids whole and show only the metric columns that fit.
    base = sum(_width(rows, c) for c in columns) + 3 * len(columns) + 1
    room = max(0, (output.console().width - base) // 11)
    columns += keys[: max(1, room)] if keys else []
    t = output.table(*columns, title=f"Runs in {name}", no_wrap=("id",))
    for row in rows:
        t.add_row(*(row.get(c, "-") for c in columns))
    output.print_(t)
    if not page.runs:
        output.print_(f"[dim]no runs match in project {output.escape(name)!r}[/]")
        if not filter_ and not experiment:
            output.print_(
                "[dim]working in another project? `relay projects ls`, then "
                "`relay use NAME` (or --project NAME)[/]"
            )
    if more:
        output.print_(f"[dim]{more}[/]")


def _width(rows: list[dict[str, str]], column: str) -> int:
    from rich.text import Text

    return max([len(column)] + [Text.from_markup(row.get(column, "")).cell_len for row in rows])


def _metric_columns(runs: list[RunRecord], order_by: list[str]) -> list[str]:
    """The metrics ordered by first, then the others alphabetically, a few at most."""
    present = sorted({k for r in runs for k in r.metrics})
    first = []
    for clause in order_by:
        field = clause.split()[0] if clause.split() else ""
        prefix, _, key = field.partition(".")
        if prefix in ("metrics", "metric") and key in present and key not in first:
            first.append(key)
    return (first + [k for k in present if k not in first])[:MAX_METRIC_COLUMNS]


def show(
    run_id: Annotated[str, typer.Argument(metavar="ID", help="Run id.")],
    as_json: JsonFlag = False,
) -> None:
    """One run: status, times, params, latest metrics, tags, captured context, artifacts."""
    with state.backend() as backend:
        r = backend.tracking.get_run(run_id)
        artifacts = backend.artifacts.list_artifacts(run_id)
    if as_json:
        from relayml.wire.tracking import ArtifactOut, RunOut

        # The run as GET /runs/ID writes it, with its artifacts as GET /runs/ID/artifacts does.
        listed = [ArtifactOut.from_domain(a) for a in artifacts]
        output.emit_json({**output.jsonable(RunOut.from_domain(r)), "artifacts": listed})
        return
    ended = r.end_time or None
    duration = f"{(ended - r.start_time).total_seconds():.1f} s" if ended else "running"
    out = output.print_
    out(f"[bold]run {r.id}[/]  {r.project}/{r.experiment}/{output.escape(r.name)}")
    out(f"  status   {output.status(r.status.value)}    user {r.user}")
    out(f"  started  {output.when(r.start_time)}    ended {output.when(r.end_time)} ({duration})")
    if r.status is RunStatus.LOST:
        out(
            f"  [bold red]lost[/]: no heartbeat since {output.when(r.last_heartbeat)}; its "
            f"process died or cannot reach Relay. Close it with: relay runs end {r.id} "
            "--status failed"
        )
    if r.parent_id:
        out(f"  parent   {r.parent_id}")
    out(_kv("Params", r.params))
    out(_kv("Metrics (latest)", {k: output.number(v) for k, v in r.metrics.items()}))
    user_tags = {k: v for k, v in r.tags.items() if not k.startswith(CONTEXT_PREFIX)}
    context = {
        k[len(CONTEXT_PREFIX) :]: v for k, v in r.tags.items() if k.startswith(CONTEXT_PREFIX)
    }
    out(_kv("Tags", user_tags))
    out(_kv("Captured context", context))
    t = output.table("path", "size", "sha256", title="Artifacts")
    for a in artifacts:
        t.add_row(output.escape(a.path), f"{a.size:,}", a.digest[:16] + "...")
    out(t)


def end(
    run_id: Annotated[str, typer.Argument(metavar="ID", help="Run id.")],
    status: Annotated[
        str, typer.Option("--status", help="How it ended: failed, killed or finished.")
    ] = "failed",
    as_json: JsonFlag = False,
) -> None:
    """End a run left `running` (shown `lost` once silent) by a process that died (kill -9,
    a lost node): its owner or an admin closes it."""
    with state.backend() as backend:
        r = backend.tracking.end_run(run_id, status)
    if as_json:
        from relayml.wire.tracking import RunOut

        output.emit_json(RunOut.from_domain(r))
        return
    output.print_(f"run {r.id} ended {output.status(r.status.value)}")


def _kv(title: str, values: dict[str, str]) -> Any:
    t = output.table("key", "value", title=title)
    for k, v in sorted(values.items()):
        t.add_row(output.escape(k), output.escape(str(v)))
    if not values:
        t.add_row("[dim]none[/]", "")
    return t


def compare(
    run_ids: Annotated[list[str], typer.Argument(metavar="ID ID ...", help="Two or more run ids.")],
    as_json: JsonFlag = False,
) -> None:
    """Params and metrics side by side; values that differ between the runs are highlighted."""
    from relayml.errors import InvalidInput

    if len(run_ids) < 2:
        raise InvalidInput(f"give at least two run ids to compare, got {len(run_ids)}")
    with state.backend() as backend:
        runs = [backend.tracking.get_run(i) for i in run_ids]
    params = _rows([r.params for r in runs])
    metrics = _rows([{k: output.number(v) for k, v in r.metrics.items()} for r in runs])
    if as_json:
        from relayml.wire.tracking import RunOut

        output.emit_json(
            {
                "runs": [RunOut.from_domain(r) for r in runs],
                "params": {k: dict(zip(run_ids, vs, strict=True)) for k, vs in params.items()},
                "metrics": {k: {r.id: r.metrics.get(k) for r in runs} for k in metrics},
                "differing": {
                    "params": [k for k, vs in params.items() if len(set(vs)) > 1],
                    "metrics": [k for k, vs in metrics.items() if len(set(vs)) > 1],
                },
            }
        )
        return
    t = output.table("", *(f"{output.escape(r.name)}\n{r.id[:12]}" for r in runs), title="Compare")
    t.add_row("[bold]experiment[/]", *(r.experiment for r in runs))
    t.add_row("[bold]status[/]", *(output.status(r.status.value) for r in runs))
    for section, rows in (("params", params), ("metrics", metrics)):
        t.add_section()
        for key, values in rows.items():
            differ = len(set(values)) > 1
            cells = [
                f"[bold yellow]{output.escape(v)}[/]" if differ else output.escape(v)
                for v in values
            ]
            t.add_row(f"{section}.{output.escape(key)}", *cells)
    output.print_(t)
    output.print_("[dim]highlighted: values that differ between the runs[/]")


def _rows(per_run: list[dict[str, str]]) -> dict[str, list[str]]:
    keys = sorted({k for d in per_run for k in d})
    return {k: [d.get(k, "-") for d in per_run] for k in keys}


def experiments_ls(
    project: Annotated[str | None, typer.Option("--project", "-p", help="Project.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List a project's experiments with their run counts."""
    name = state.project(project)
    with state.backend() as backend:
        experiments = backend.tracking.list_experiments(name)
    if as_json:
        from relayml.wire.tracking import ExperimentOut

        output.emit_json([ExperimentOut.from_domain(e) for e in experiments])
        return
    t = output.table(
        "experiment", "runs", "created by", "created at", title=f"Experiments in {name}"
    )
    for e in experiments:
        t.add_row(e.name, str(e.run_count), e.created_by, output.when(e.created_at))
    output.print_(t)


def register(app: typer.Typer) -> None:
    experiments = typer.Typer(help="Experiments: named groups of runs in a project.")
    experiments.command("ls")(experiments_ls)
    app.add_typer(experiments, name="experiments", no_args_is_help=True)
    group = typer.Typer(help="Runs: params, metric histories, tags and artifacts.")
    group.command("ls")(ls)
    group.command("show")(show)
    group.command("compare")(compare)
    group.command("end")(end)
    app.add_typer(group, name="runs", no_args_is_help=True)
