"""`relay pipelines ls|register|run|runs|show|pause|resume|backfill` and `relay scheduler`."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from relayml.cli import output, state

if TYPE_CHECKING:
    from datetime import datetime

    from rich.tree import Tree

    from relayml.client.base import Backend
    from relayml.domain.pipelines import BackfillPlan, PipelineInfo, PipelineRun, StepRun

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
ProjectOpt = Annotated[str | None, typer.Option("--project", "-p", help="Project.")]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", help="A pipeline parameter as KEY=VALUE (VALUE as JSON, else text)."),
]
COLORS = {
    "pending": "dim",
    "running": "yellow",
    "finished": "green",
    "cached": "cyan",
    "failed": "red",
    "skipped": "magenta",
}


def _params(items: list[str] | None) -> dict[str, Any]:
    from relayml.errors import InvalidInput

    values: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"invalid --param {item!r}; write KEY=VALUE, e.g. --param n=10")
        try:
            values[key] = json.loads(text)
        except ValueError:
            values[key] = text
    return values


def _status(value: str) -> str:
    return f"[{COLORS.get(value, 'white')}]{value}[/]"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f} s" if value < 120 else f"{value / 60:.1f} min"


def _tree(run: PipelineRun) -> Tree:
    """The DAG as a tree: each step under the first step it reads from."""
    from rich.tree import Tree

    title = (
        f"[bold]{run.pipeline}[/] run {run.id} {_status(run.status.value)} "
        f"({_trigger(run)}, {run.executor}, {_seconds(run.duration)})"
    )
    root = Tree(title)
    branches: dict[str, Tree] = {}
    for s in run.steps:
        parent = branches.get(s.upstream[0]) if s.upstream else None
        label = _step_label(s)
        branches[s.name] = (parent or root).add(label)
    return root


def _trigger(run: PipelineRun) -> str:
    """What started the run: manual, a slot, or a published version."""
    if run.dataset is not None:
        return f"{run.trigger.value} {run.dataset}"
    if run.scheduled_for is not None:
        return f"{run.trigger.value} {output.when(run.scheduled_for, seconds=False)}"
    return run.trigger.value


def _step_label(s: StepRun) -> str:
    extra = [] if len(s.upstream) <= 1 else [f"also reads {', '.join(s.upstream[1:])}"]
    if s.attempts > 1:
        extra.append(f"{s.attempts} attempts")
    if s.error and s.status.value in ("failed", "skipped"):
        extra.append(output.escape(s.error.splitlines()[0][:160]))
    tail = f"  [dim]{'; '.join(extra)}[/]" if extra else ""
    return f"{s.name} {_status(s.status.value)} {_seconds(s.duration)}{tail}"


def _steps_table(run: PipelineRun) -> Any:
    t = output.table("step", "status", "attempts", "duration", "reads", "output", title=None)
    for s in run.steps:
        out = "-"
        if s.output is not None:
            out = s.output.ref or s.output.kind
            if s.output.kind == "value":
                out = output.escape(json.dumps(s.output.value)[:40])
        t.add_row(
            s.name,
            _status(s.status.value),
            str(s.attempts),
            _seconds(s.duration),
            ", ".join(s.upstream) or "-",
            out,
        )
    return t


def ls(project: ProjectOpt = None, as_json: JsonFlag = False) -> None:
    """List the registered pipelines of a project."""
    name = state.project(project)
    with state.backend() as backend:
        found = backend.pipelines.list_pipelines(name)
    if as_json:
        from relayml.wire.pipelines import PipelineOut

        output.emit_json([PipelineOut.from_domain(p) for p in found])
        return
    t = output.table(
        "pipeline", "steps", "schedule", "next run", "module", "updated",
        title=f"Pipelines in {name}",
    )  # fmt: skip
    for p in found:
        t.add_row(
            p.name, str(len(p.steps)), _when_it_runs(p), _next_run(p), p.module,
            output.when(p.updated_at),
        )  # fmt: skip
    output.print_(t)
    if not found:
        output.print_("[dim]no pipelines yet: relay pipelines run FILE.py:NAME registers one[/]")


def _when_it_runs(p: PipelineInfo) -> str:
    """Its cron, and the datasets whose new versions start it."""
    parts = [p.schedule] if p.schedule else []
    if p.on_publish:
        parts.append("on publish of " + ", ".join(t.dataset for t in p.on_publish))
    return "; ".join(parts) or "-"


def _next_run(p: PipelineInfo) -> str:
    """When the scheduler starts it next, or who paused it and why."""
    if p.paused is not None:
        return f"[yellow]paused[/] by {p.paused.by}: {output.escape(p.paused.reason)}"
    if p.next_run is None:
        return "-"
    return f"{output.when(p.next_run, seconds=False)} UTC"


def register_pipeline(
    ref: Annotated[str, typer.Argument(help="module:name or path/to/file.py:name")],
    param: ParamOpt = None,
    project: ProjectOpt = None,
) -> None:
    """Record a pipeline (code reference, graph, schedule) without running it."""
    from relayml.pipelines.runner import register as _register

    name = state.project(project)
    with state.backend() as backend:
        pipe, ref_, graph = _register(backend, ref, name, _params(param))
    schedule = f", schedule {pipe.schedule!r}" if pipe.schedule else ""
    output.print_(f"registered {pipe.name} ({len(graph.nodes)} steps{schedule}) from {ref_}")


def run(
    ref: Annotated[str, typer.Argument(help="module:name or path/to/file.py:name")],
    executor: Annotated[
        str, typer.Option("--executor", "-x", help="local (processes) or ray.")
    ] = "local",
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step again.")] = False,
    param: ParamOpt = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Steps at once (default: CPU count).")
    ] = None,
    project: ProjectOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Run a pipeline here, recording its run; exits 10 if a step failed."""
    from relayml.domain.pipelines import StepStatus
    from relayml.pipelines import worker_env
    from relayml.pipelines.runner import run_pipeline

    name = state.project(project)
    env = worker_env(state.settings(), state.options.server, state.options.token)
    live_states: dict[str, str] = {}
    live: Any = None

    def on_update(step: str, status: StepStatus) -> None:
        live_states[step] = status.value
        if live is not None:
            live.update(_live_table(live_states), refresh=True)

    interactive = sys.stdout.isatty() and not as_json
    with state.backend() as backend:
        if interactive:
            from rich.live import Live

            with Live(_live_table(live_states), console=output.console(), auto_refresh=False) as lv:
                live = lv
                result = run_pipeline(
                    backend, ref, project=name, params=_params(param), executor=executor,
                    no_cache=no_cache, max_workers=workers, env=env, on_update=on_update,
                )  # fmt: skip
                live.update("", refresh=True)
        else:
            result = run_pipeline(
                backend, ref, project=name, params=_params(param), executor=executor,
                no_cache=no_cache, max_workers=workers, env=env,
            )  # fmt: skip
    if as_json:
        from relayml.wire.pipelines import PipelineRunOut

        output.emit_json(PipelineRunOut.from_domain(result))
    else:
        output.print_(_tree(result))
    _fail_with_tracebacks(result)


def _live_table(states: dict[str, str]) -> Any:
    t = output.table("step", "status")
    for step, status in states.items():
        t.add_row(step, _status(status))
    return t


def _fail_with_tracebacks(result: PipelineRun) -> None:
    for s in result.failed_steps:
        if s.user_traceback:
            sys.stderr.write(f"--- step {s.name} ---\n{s.user_traceback}\n")
    result.raise_for_status()


def runs(
    pipeline: Annotated[str | None, typer.Argument(help="Only this pipeline.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most N runs.")] = 50,
    project: ProjectOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """List pipeline runs, newest first."""
    name = state.project(project)
    with state.backend() as backend:
        found = backend.pipelines.list_runs(name, pipeline, limit)
    if as_json:
        from relayml.wire.pipelines import PipelineRunOut

        output.emit_json([PipelineRunOut.from_domain(r) for r in found])
        return
    t = output.table(
        "id", "pipeline", "status", "trigger", "executor", "started", "duration",
        title=f"Pipeline runs in {name}", no_wrap=("id",),
    )  # fmt: skip
    for r in found:
        t.add_row(
            r.id, r.pipeline, _status(r.status.value), _trigger(r), r.executor,
            output.when(r.started_at), _seconds(r.duration),
        )  # fmt: skip
    output.print_(t)


def show(
    target: Annotated[str, typer.Argument(help="A pipeline run id, or a pipeline's name.")],
    logs: Annotated[
        str | None, typer.Option("--logs", help="Print what this step printed instead.")
    ] = None,
    project: ProjectOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """A pipeline run (the DAG with step states and durations, errors, or a step's logs), or
    a pipeline (its schedule and next run, or who paused it and why)."""

    from relayml.domain.pipelines import PipelineRun
    from relayml.scratch import scratch_dir

    with state.backend() as backend:
        found = _run_or_pipeline(backend, target, project)
        if not isinstance(found, PipelineRun):
            if logs is not None:
                from relayml.errors import InvalidInput

                raise InvalidInput(f"--logs reads a step of a run; {target!r} is a pipeline")
            _show_pipeline(found, as_json)
            return
        result, run_id = found, found.id
        if logs is not None:
            digest = result.step(logs).logs_digest
            if digest is None:
                sys.stderr.write(f"step {logs} printed nothing\n")
                return
            with scratch_dir("logs") as tmp:
                path = backend.pipelines.download_blob(run_id, digest, tmp / "log")
                sys.stdout.write(path.read_text(encoding="utf-8", errors="replace"))
            return
    if as_json:
        from relayml.wire.pipelines import PipelineRunOut

        output.emit_json(PipelineRunOut.from_domain(result))
        return
    output.print_(_tree(result))
    output.print_(_steps_table(result))
    for s in result.failed_steps:
        output.print_(f"[red]step {s.name} failed:[/] {output.escape(s.error or '')}")
        if s.user_traceback:
            output.print_(output.escape(s.user_traceback.rstrip()))


def _run_or_pipeline(backend: Backend, target: str, project: str | None) -> Any:
    """The run with this id, else the project's pipeline of this name."""
    from relayml.errors import NotFound

    looks_like_run = len(target) == 32 and target.isalnum()
    if looks_like_run:
        try:
            return backend.pipelines.get_run(target)
        except NotFound:
            pass
    name = state.project(project)
    try:
        return backend.pipelines.get_pipeline(name, target)
    except NotFound:
        if not looks_like_run:
            raise
        raise NotFound(
            f"no pipeline run {target!r}, and no pipeline of that name in project {name!r}; "
            "list them with: relay pipelines runs, relay pipelines ls"
        ) from None


def _show_pipeline(p: PipelineInfo, as_json: bool) -> None:
    if as_json:
        from relayml.wire.pipelines import PipelineOut

        output.emit_json(PipelineOut.from_domain(p))
        return
    output.print_(f"[bold]{p.project}/{p.name}[/]  {p.module}")
    if p.schedule is not None:
        output.print_(f"schedule  {p.schedule} (UTC)   next run  {_next_run(p)}")
        if p.last_scheduled is not None:
            output.print_(f"last slot started  {output.when(p.last_scheduled, seconds=False)} UTC")
    elif p.paused is not None:
        output.print_(f"no schedule   {_next_run(p)}")
    elif not p.on_publish:
        output.print_("no schedule: it runs when started (relay pipelines run)")
    for t in p.on_publish:
        since = f"after {t.dataset}@{t.last_version}" if t.last_version else "from its first"
        output.print_(f"runs on each new version of {t.dataset} ({since})")
    if p.paused is not None:
        when = output.when(p.paused.at)
        output.print_(f"paused at {when} UTC; resume with: relay pipelines resume {p.name}")
    if p.params:
        output.print_(f"parameters  {output.escape(json.dumps(p.params))}")
    graph = ", ".join(
        s.name + (f" (reads {', '.join(s.upstream)})" if s.upstream else "") for s in p.steps
    )
    output.print_(f"steps  {graph or '-'}")
    output.print_(
        f"registered {output.when(p.created_at)} by {p.created_by}, "
        f"updated {output.when(p.updated_at)}"
    )


def pause(
    name: Annotated[str, typer.Argument(help="The pipeline.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, for whoever reads it next.")],
    project: ProjectOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Pause a pipeline's schedule: the scheduler starts nothing of it until it is resumed
    (manual runs and backfills still run). Audited."""
    with state.backend() as backend:
        info = backend.pipelines.pause(state.project(project), name, reason)
    if as_json:
        _show_pipeline(info, True)
        return
    why = output.escape(info.paused.reason if info.paused else reason)
    output.print_(f"paused {info.name}: {why}")
    output.print_(f"[dim]relay pipelines resume {info.name} starts its schedule again[/]")


def resume(
    name: Annotated[str, typer.Argument(help="The paused pipeline.")],
    project: ProjectOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Resume a paused schedule from now: the slots missed while it was paused are not run
    (relay pipelines backfill runs them). Audited."""
    with state.backend() as backend:
        info = backend.pipelines.resume(state.project(project), name)
    if as_json:
        _show_pipeline(info, True)
        return
    output.print_(f"resumed {info.name}; next run {_next_run(info)}")


def backfill(
    name: Annotated[str, typer.Argument(help="The pipeline (a registered name, or FILE.py:NAME).")],
    start: Annotated[
        str, typer.Option("--from", help="First day or time, e.g. 2026-11-01 (UTC unless +HH:MM).")
    ],
    end: Annotated[str, typer.Option("--to", help="Last day (included) or time, e.g. 2026-11-07.")],
    every: Annotated[
        str | None,
        typer.Option("--every", help="Cron of the slots, for a pipeline without a schedule."),
    ] = None,
    rerun: Annotated[
        bool, typer.Option("--rerun", help="Run slots a finished run already did, too.")
    ] = False,
    executor: Annotated[
        str, typer.Option("--executor", "-x", help="local (processes) or ray.")
    ] = "local",
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step again.")] = False,
    param: ParamOpt = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Steps at once (default: CPU count).")
    ] = None,
    project: ProjectOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Run a pipeline once per past slot of its schedule from --from to --to, oldest first
    (trigger `backfill`); slots a run already finished are skipped unless --rerun. The
    schedule itself goes on untouched. Exits 10 if a backfilled run failed."""
    from relayml.pipelines import worker_env
    from relayml.pipelines.backfills import backfill as _backfill

    proj = state.project(project)
    env = worker_env(state.settings(), state.options.server, state.options.token)

    def on_plan(plan: BackfillPlan) -> None:
        if as_json:
            return
        first, last = output.when(plan.start, seconds=False), output.when(plan.until, seconds=False)
        count = f"{len(plan.slots)} slot(s) of {plan.cron!r}"
        output.print_(f"backfilling {plan.pipeline}: {count} in {first} .. {last} UTC")
        if plan.until < plan.end:
            output.print_("[dim]slots after now are left to the scheduler[/]")
        for slot, run_id in plan.skipped:
            output.print_(
                f"skipped {output.when(slot, seconds=False)}: run {run_id} finished it "
                "(--rerun runs it again)"
            )

    def on_run(run: PipelineRun) -> None:
        if not as_json:
            slot = output.when(run.scheduled_for, seconds=False)
            output.print_(f"{slot} UTC  run {run.id}  {_status(run.status.value)}")

    with state.backend() as backend:
        done = _backfill(
            backend, name, start, end, project=proj, every=every, rerun=rerun,
            params=_params(param), executor=executor, no_cache=no_cache, max_workers=workers,
            env=env, on_plan=on_plan, on_run=on_run,
        )  # fmt: skip
    if as_json:
        from relayml.wire.pipelines import BackfillOut, BackfillPlanOut, PipelineRunOut

        output.emit_json(
            BackfillOut(
                plan=BackfillPlanOut.from_domain(done.plan),
                runs=[PipelineRunOut.from_domain(r) for r in done.runs],
            )
        )
    else:
        _backfill_table(done.plan, done.runs)
    done.raise_for_status()


def _backfill_table(plan: BackfillPlan, runs: list[PipelineRun]) -> None:
    if not plan.slots and not plan.skipped:
        output.print_(f"no slot of {plan.cron!r} falls in the range: nothing to backfill")
        return
    t = output.table(
        "slot (UTC)", "run", "status", "duration", "error", title=f"Backfill of {plan.pipeline}"
    )
    rows: list[tuple[datetime, list[str]]] = []
    for slot, run_id in plan.skipped:
        rows.append((slot, [run_id, "[dim]skipped: finished before[/]", "-", ""]))
    for r in runs:
        assert r.scheduled_for is not None
        error = output.escape((r.error or "").splitlines()[0][:120]) if r.error else ""
        cells = [r.id, _status(r.status.value), _seconds(r.duration), error]
        rows.append((r.scheduled_for, cells))
    for slot, cells in sorted(rows, key=lambda row: row[0]):
        t.add_row(output.when(slot, seconds=False), *cells)
    output.print_(t)
    failed = sum(1 for r in runs if r.status.value != "finished")
    output.print_(f"{len(runs) - failed} finished, {failed} failed, {len(plan.skipped)} skipped")


def scheduler(
    once: Annotated[bool, typer.Option("--once", help="Start what is due, then exit.")] = False,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between checks.")] = 30.0,
    executor: Annotated[str, typer.Option("--executor", "-x", help="local or ray.")] = "local",
    webhook: Annotated[
        str | None,
        typer.Option(
            "--webhook",
            envvar="RELAY_ALERT_WEBHOOK",
            help="POST an alert here when a scheduled run fails (default: $RELAY_ALERT_WEBHOOK).",
        ),
    ] = None,
) -> None:
    """Run scheduled pipelines when their cron slot comes, and watching ones on new data.

    A missed slot runs once; each new usable version of a dataset a pipeline watches
    (on_publish) starts it once."""
    from relayml.pipelines import scheduler as sched
    from relayml.pipelines import worker_env

    env = worker_env(state.settings(), state.options.server, state.options.token)

    def report(o: sched.Outcome) -> None:
        what = o.run.status.value if o.run else f"could not start: {o.error}"
        rid = o.run.id if o.run else "-"
        alert = " (alert sent)" if o.alerted else ""
        cause = f"slot {o.slot.isoformat()}" if o.slot is not None else f"published {o.dataset}"
        output.print_(
            f"{o.pipeline.project}/{o.pipeline.name} {cause}: "
            f"run {rid} {_status(what) if o.run else what}{alert}"
        )

    with state.backend() as backend:
        if once:
            for outcome in sched.tick(backend, executor=executor, webhook=webhook, env=env):
                report(outcome)
            return
        output.print_(f"relay scheduler: checking every {interval:g} s; Ctrl-C stops it")
        try:
            with state.delivering(backend):
                sched.serve(
                    backend, interval=interval, executor=executor, webhook=webhook, env=env,
                    report=report,
                )  # fmt: skip
        except KeyboardInterrupt:
            output.print_("stopped")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Pipelines: steps as a DAG, cached, retried, scheduled.")
    group.command("ls")(ls)
    group.command("register")(register_pipeline)
    group.command("run")(run)
    group.command("runs")(runs)
    group.command("show")(show)
    group.command("pause")(pause)
    group.command("resume")(resume)
    group.command("backfill")(backfill)
    app.add_typer(group, name="pipelines", no_args_is_help=True)
    app.command("scheduler")(scheduler)
