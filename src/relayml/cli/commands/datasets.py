"""`relay datasets ls|versions|show|publish|get|diff|lineage|release|quarantine|deprecate|
undeprecate`: versioned datasets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from relayml.cli import options, output, state

if TYPE_CHECKING:
    from rich.tree import Tree

    from relayml.domain.datasets import DatasetVersion, LineageNode

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
ProjectOpt = Annotated[
    str | None, typer.Option("--project", "-p", help="Project (default: the global one).")
]
AllowOpt = Annotated[
    bool,
    typer.Option("--allow-quarantined", help="Read a quarantined version anyway."),
]
_STATUS = {"valid": "green", "quarantined": "red", "released": "yellow"}


def _status(value: str) -> str:
    return f"[{_STATUS.get(value, 'white')}]{value}[/]"


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return output.number(value)
    return output.escape(str(value))


def ls(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """List the project's datasets with their version counts and latest usable version."""
    proj = state.project(project)
    with state.backend() as backend:
        items = backend.datasets.list_datasets(proj)
    if as_json:
        from relayml.wire.datasets import DatasetInfoOut

        output.emit_json([DatasetInfoOut.from_domain(d) for d in items])
        return
    t = output.table("name", "versions", "latest", "created", "by", "description")
    for d in items:
        latest = str(d.latest) if d.latest is not None else "-"
        t.add_row(
            d.name, str(d.versions), latest, output.when(d.created_at, seconds=False),
            d.created_by, output.escape(d.description),
        )  # fmt: skip
    output.print_(t)
    if not items:
        output.print_(
            f"[dim]no datasets in project {proj}; publish one with relay datasets publish[/]"
        )


def versions(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List every version of a dataset, quarantined ones included."""
    with state.backend() as backend:
        items = backend.datasets.versions(state.project(project), name)
    if as_json:
        from relayml.wire.datasets import DatasetVersionOut

        output.emit_json([DatasetVersionOut.from_domain(v) for v in items])
        return
    t = output.table("ref", "status", "rows", "digest", "created", "by", "source", no_wrap=("ref",))
    for v in items:
        t.add_row(
            v.ref, _status(v.status.value) + (" [yellow]deprecated[/]" if v.deprecated else ""),
            f"{v.rows:,}", v.digest[:12],
            output.when(v.created_at, seconds=False), v.created_by, output.escape(v.source),
        )  # fmt: skip
    output.print_(t)


def show(
    ref: Annotated[str, typer.Argument(help="A version: name@N, name@latest or name.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Schema, profile summary, quality report, status and lineage of one version."""
    with state.backend() as backend:
        v = backend.datasets.get(state.project(project), ref, allow_quarantined=True)
    if as_json:
        from relayml.wire.datasets import DatasetVersionOut

        output.emit_json(DatasetVersionOut.from_domain(v))
        return
    _show(v)


def _show(v: DatasetVersion) -> None:
    deprecated = "  [yellow]deprecated[/]" if v.deprecated else ""
    output.print_(f"[bold]{v.project}/{v.ref}[/]  {_status(v.status.value)}{deprecated}")
    output.print_(f"rows {v.rows:,}   size {v.size:,} B   digest {v.digest}")
    output.print_(f"published {output.when(v.created_at)} by {v.created_by}")
    if v.description:
        output.print_(f"description: {output.escape(v.description)}")
    if v.source:
        output.print_(f"source: {output.escape(v.source)}")
    if v.parents:
        output.print_(f"parents: {', '.join(v.parents)}")
    if v.producer:
        output.print_(
            f"produced by pipeline run {v.producer['pipeline_run']} step {v.producer['step']}"
        )
    if v.released_by:
        reason = output.escape(v.release_reason or "")
        output.print_(f"released by {v.released_by} at {output.when(v.released_at)}: {reason}")
    if v.quarantined_by:
        reason = output.escape(v.quarantine_reason or "")
        when = output.when(v.quarantined_at)
        output.print_(f"put back into quarantine by {v.quarantined_by} at {when}: {reason}")
    if v.deprecated_by:
        reason = output.escape(v.deprecation_reason or "")
        when = output.when(v.deprecated_at)
        output.print_(f"[yellow]deprecated[/] by {v.deprecated_by} at {when}: {reason}")
    t = output.table(
        "column", "type", "missing", "distinct", "min", "max", "mean", "std", "top",
        title="Profile",
    )  # fmt: skip
    types = {c["name"]: c["type"] for c in v.schema}
    for name, p in v.profile.get("columns", {}).items():
        distinct = _num(p.get("distinct")) + ("~" if p.get("distinct_approx") else "")
        top = ", ".join(f"{k} ({c:,})" for k, c in (p.get("top") or [])[:3])
        t.add_row(
            name, types.get(name, p.get("type", "")), _num(p.get("missing")), distinct,
            _num(p.get("min_text", p.get("min"))), _num(p.get("max_text", p.get("max"))),
            _num(p.get("mean")), _num(p.get("std")), output.escape(top),
        )  # fmt: skip
    output.print_(t)
    if v.quality is None:
        output.print_("[dim]no contract: not validated[/]")
        return
    q = output.table("check", "severity", "result", "failing", "fraction", title="Quality")
    for c in v.quality.get("checks", []):
        ok = "[green]pass[/]" if c.get("passed") else "[red]FAIL[/]"
        frac = c.get("failing_fraction")
        q.add_row(
            output.escape(str(c.get("name"))), str(c.get("severity")), ok,
            _num(c.get("failing_count")), f"{frac:.3%}" if isinstance(frac, float) else "-",
        )  # fmt: skip
    output.print_(q)


def publish(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    path: Annotated[Path, typer.Argument(help="A Parquet or CSV file (or Parquet folder).")],
    contract: Annotated[
        Path | None, typer.Option("--contract", "-c", help="Data contract (YAML).")
    ] = None,
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    source: Annotated[str, typer.Option("--source", help="Where the data came from (URI).")] = "",
    parent: Annotated[
        list[str] | None, typer.Option("--parent", help="A parent version (repeatable).")
    ] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
    dtypes: options.DtypeOpt = None,
) -> None:
    """Publish a file as the dataset's next version: validated, profiled, content-addressed."""
    from relayml.sdk.datasets import publish_to

    proj = state.project(project)
    with state.backend() as backend, _bars(path, transient=as_json) as (progress, uploading):
        ds = publish_to(
            backend, proj, name, path, contract=str(contract) if contract else None,
            description=description, source=source, parents=list(parent or []),
            progress=progress, uploading=uploading, dtypes=options.dtypes(dtypes),
        )  # fmt: skip
    if as_json:
        output.emit_json(ds.to_dict())
        return
    output.print_(f"published {proj}/{ds.ref} ({ds.rows:,} rows) {_status(ds.status.value)}")
    if ds.status.value == "quarantined":
        failed = ", ".join(ds.record.failed_checks())
        output.print_(
            f"[red]quarantined[/]: failed {failed}. See relay datasets show {ds.ref}; release "
            f"with relay datasets release {ds.ref} --reason TEXT"
        )


@contextmanager
def _bars(path: Path, transient: bool) -> Iterator[tuple[Any, Any]]:
    """``(progress, uploading)`` callbacks drawing bars on a terminal; none when the output is
    piped (a script reads the result line, and rich.progress costs a tenth of a second)."""
    if not output.console().is_terminal:
        yield None, None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
        TextColumn("{task.fields[count]}"), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=output.console(), transient=transient) as bars:
        task = bars.add_task(f"reading {path.name}", total=None, count="0 rows")

        def progress(rows: int, total: int | None) -> None:
            bars.update(task, completed=rows, total=total, count=f"{rows:,} rows")

        def uploading() -> None:
            bars.update(task, total=bars.tasks[task].completed)
            bars.add_task("uploading, validating and profiling", total=None, count="")

        yield progress, uploading


def get(
    ref: Annotated[str, typer.Argument(help="A version: name@N, name@latest or name.")],
    out: Annotated[
        Path, typer.Option("--output", "-o", help="Write here: .parquet (verified) or .csv.")
    ] = Path("data.parquet"),
    allow_quarantined: AllowOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Download a version's data as Parquet (verified against its sha256) or CSV."""
    proj = state.project(project)
    with state.backend() as backend:
        v = backend.datasets.get(proj, ref, allow_quarantined)
        ref = v.ref
        if v.deprecated:
            output.warn(
                f"{v.ref} is deprecated (by {v.deprecated_by}: {v.deprecation_reason}); "
                "runs may no longer use it"
            )
        if out.suffix.lower() == ".csv":
            import pyarrow.csv as pcsv

            from relayml.scratch import scratch_dir
            from relayml.tables.parquet import open_parquet

            with scratch_dir("download") as tmp:
                local = backend.datasets.download(proj, ref, tmp / "d.parquet", allow_quarantined)
                with open_parquet(local) as pf, pcsv.CSVWriter(out, pf.schema_arrow) as writer:
                    for batch in pf.iter_batches():
                        writer.write_batch(batch)
        else:
            backend.datasets.download(proj, ref, out, allow_quarantined)
    output.print_(f"wrote {ref} -> {output.escape(str(out))}")


def diff(
    a: Annotated[str, typer.Argument(help="The older version, e.g. loans@2.")],
    b: Annotated[str, typer.Argument(help="The newer version, e.g. loans@3.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Schema and profile differences between two versions."""
    from relayml.sdk.datasets import diff as diff_versions

    with state.backend() as backend:
        result = diff_versions(a, b, project=state.project(project), backend=backend)
    if as_json:
        output.emit_json(result)
        return
    output.print_(
        f"[bold]{result.a} -> {result.b}[/]   rows {result.rows[0]:,} -> {result.rows[1]:,}"
    )
    for col in result.added:
        output.print_(f"[green]+ column {output.escape(col)}[/]")
    for col in result.removed:
        output.print_(f"[red]- column {output.escape(col)}[/]")
    for col, before, after in result.retyped:
        output.print_(f"[yellow]~ column {output.escape(col)}: {before} -> {after}[/]")
    if result.changed:
        t = output.table("column", "stat", result.a, result.b, title="Changed statistics")
        for c in result.changed:
            t.add_row(output.escape(c.column), c.stat, _num(c.before), _num(c.after))
        output.print_(t)
    if result.same_schema and not result.changed:
        output.print_("no schema or profile differences")


def lineage(
    ref: Annotated[str, typer.Argument(help="A version: name@N.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The lineage graph both ways: upstream parents, producer and source; downstream
    versions and the runs that used them."""
    from rich.tree import Tree

    with state.backend() as backend:
        root = backend.datasets.lineage(state.project(project), ref)
    if as_json:
        from relayml.wire.datasets import LineageOut

        output.emit_json(LineageOut.from_domain(root))
        return
    tree = Tree(f"[bold]{root.ref}[/] {_status(root.status.value)}")
    up = tree.add("[cyan]upstream[/]")
    _origin(up, root)
    for p in root.parents:
        _up(up.add(_label(p)), p)
    down = tree.add("[cyan]downstream[/]")
    _runs(down, root)
    for c in root.children:
        _down(down.add(_label(c)), c)
    output.print_(tree)


def _label(n: LineageNode) -> str:
    return f"{n.ref} {_status(n.status.value)}"


def _origin(branch: Tree, n: LineageNode) -> None:
    if n.source:
        branch.add(f"source {output.escape(n.source)}")
    if n.producer:
        branch.add(f"pipeline run {n.producer['pipeline_run']} step {n.producer['step']}")


def _runs(branch: Tree, n: LineageNode) -> None:
    for r in n.runs:
        branch.add(f"run {r.run_id} ({r.experiment}/{output.escape(r.run_name)}, {r.user})")


def _up(branch: Tree, n: LineageNode) -> None:
    _origin(branch, n)
    for p in n.parents:
        _up(branch.add(_label(p)), p)


def _down(branch: Tree, n: LineageNode) -> None:
    _runs(branch, n)
    for c in n.children:
        _down(branch.add(_label(c)), c)


def release(
    ref: Annotated[str, typer.Argument(help="The quarantined version, e.g. loans@4.")],
    reason: Annotated[str, typer.Option("--reason", help="Why this data may be used.")],
    project: ProjectOpt = None,
) -> None:
    """Release a quarantined version for use; who and why are recorded (audited)."""
    with state.backend() as backend:
        v = backend.datasets.release(state.project(project), ref, reason)
    output.print_(f"released {v.ref}: {output.escape(v.release_reason or '')}")


def quarantine(
    ref: Annotated[str, typer.Argument(help="The version, e.g. loans@4.")],
    reason: Annotated[str, typer.Option("--reason", help="Why readers must stop using it.")],
    project: ProjectOpt = None,
) -> None:
    """Put a version back into quarantine (undo a release, or stop data with a problem its
    contract did not catch); readers are refused it again (audited)."""
    with state.backend() as backend:
        v = backend.datasets.quarantine(state.project(project), ref, reason)
    output.print_(f"quarantined {v.ref}: {output.escape(v.quarantine_reason or '')}")


def deprecate(
    ref: Annotated[str, typer.Argument(help="The version, e.g. loans@2.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, and what to use instead.")],
    project: ProjectOpt = None,
) -> None:
    """Deprecate a version: still readable (readers are warned), new uses by runs refused,
    and the bare dataset name no longer resolves to it (audited)."""
    with state.backend() as backend:
        v = backend.datasets.deprecate(state.project(project), ref, reason)
    output.print_(f"deprecated {v.ref}: {output.escape(v.deprecation_reason or '')}")


def undeprecate(
    ref: Annotated[str, typer.Argument(help="The deprecated version, e.g. loans@2.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it may be used again.")],
    project: ProjectOpt = None,
) -> None:
    """Withdraw a version's deprecation (audited)."""
    with state.backend() as backend:
        v = backend.datasets.undeprecate(state.project(project), ref, reason)
    output.print_(f"{v.ref} is no longer deprecated")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Versioned datasets: publish, validate, profile, lineage.")
    commands = (ls, versions, show, publish, get, diff, lineage, release, quarantine, deprecate)
    for fn in (*commands, undeprecate):
        group.command(fn.__name__)(fn)
    app.add_typer(group, name="datasets", no_args_is_help=True)
