"""`relay loops attach|detach|ls|show|start|runs|stop|run`: the closed loop from an alert to a
retrained, evaluated, approved, canaried model.

relay loops attach retrain-churn --pipeline retrain --deployment churn-api --on data_drift \\
      --eval holdout --target churned --canary-percent 10 --min-feedback 200
relay loops start retrain-churn --reason "tenure drifted since the pricing change"
relay loops run --once          # one tick of the runner: pipelines, canary decisions
relay loops show RUN_ID         # every step: who, when, what
relay loops stop RUN_ID --reason "pricing rolled back; not needed"
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from relayml.cli import output, state

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
ProjectOpt = Annotated[
    str | None, typer.Option("--project", "-p", help="Project (default: the global one).")
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept on the run and audited).")]
_STATE = {
    "triggered": "yellow",
    "training": "yellow",
    "evaluating": "yellow",
    "awaiting_approval": "cyan",
    "canary": "cyan",
    "promoted": "green",
    "rolled_back": "magenta",
    "refused": "red",
    "failed": "red",
    "stopped": "dim",
}


def _state(value: str) -> str:
    return f"[{_STATE.get(value, 'white')}]{value}[/]"


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


def attach(
    name: Annotated[str, typer.Argument(help="The loop's name.")],
    pipeline: Annotated[str, typer.Option("--pipeline", help="The registered pipeline to run.")],
    deployment: Annotated[
        str, typer.Option("--deployment", help="The deployment (it follows a protected alias).")
    ],
    on: Annotated[
        list[str] | None,
        typer.Option(
            "--on",
            help="An alert family that starts it (repeat): data_drift, prediction_drift, "
            "performance, model_shift; none: by hand only.",
        ),
    ] = None,
    candidate_step: Annotated[
        str,
        typer.Option("--candidate-step", help="The step returning the model ref it registered."),
    ] = "register",
    param: Annotated[
        list[str] | None, typer.Option("--param", help="A pipeline parameter as KEY=VALUE.")
    ] = None,
    evaluate_on: Annotated[
        str | None,
        typer.Option(
            "--eval", help="Evaluation dataset (its newest usable version); default: the policy's."
        ),
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="Its label column.")] = None,
    canary_percent: Annotated[
        float, typer.Option("--canary-percent", help="The canary's share of live traffic.")
    ] = 10.0,
    min_feedback: Annotated[
        int, typer.Option("--min-feedback", help="Rows with feedback per arm before deciding.")
    ] = 100,
    canary_timeout: Annotated[
        str, typer.Option("--canary-timeout", help="No decision by then: rolled back.")
    ] = "7d",
    pipeline_timeout: Annotated[
        str,
        typer.Option("--pipeline-timeout", help="A pipeline run not ended by then is abandoned."),
    ] = "6h",
    alpha: Annotated[
        float, typer.Option("--alpha", help="The canary test's significance level.")
    ] = 0.05,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Attach a loop: alert (or by hand) -> pipeline -> candidate -> evaluation -> held
    promotion request -> approval -> canary -> promoted or rolled back."""
    from relayml.domain.loops import LoopSpec
    from relayml.domain.monitors import alert_families

    spec = LoopSpec(
        pipeline=pipeline, deployment=deployment, on=alert_families(on or []),
        candidate_step=candidate_step, params=_params(param), evaluate_on=evaluate_on,
        target=target, canary_percent=canary_percent, min_feedback=min_feedback,
        canary_timeout=canary_timeout, pipeline_timeout=pipeline_timeout, alpha=alpha,
    )  # fmt: skip
    with state.backend() as backend:
        loop = backend.loops.attach(state.project(project), name, spec)
    if as_json:
        from relayml.wire.loops import LoopOut

        output.emit_json(LoopOut.from_domain(loop))
        return
    output.print_(
        f"attached loop {loop.name}: pipeline {spec.pipeline} -> {loop.model}@{loop.alias} "
        f"through deployment {spec.deployment}; requests in {loop.created_by}'s name"
    )


def detach(
    name: Annotated[str, typer.Argument(help="The loop.")],
    reason: ReasonOpt,
    project: ProjectOpt = None,
) -> None:
    """Detach a loop: no new runs start (the runs under way go on; stop them)."""
    with state.backend() as backend:
        loop = backend.loops.detach(state.project(project), name, reason)
    output.print_(f"detached loop {loop.name}")


def ls(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """The project's loops."""
    with state.backend() as backend:
        found = backend.loops.list_loops(state.project(project))
    if as_json:
        from relayml.wire.loops import LoopOut

        output.emit_json([LoopOut.from_domain(x) for x in found])
        return
    t = output.table("loop", "pipeline", "promotes", "on", "canary", "owner", "attached")
    for x in found:
        s = x.spec
        t.add_row(
            x.name, s.pipeline, f"{x.model}@{x.alias} via {s.deployment}",
            ", ".join(s.on) or "by hand", f"{s.canary_percent:g}% until {s.min_feedback}/arm",
            x.created_by, "yes" if x.attached else f"detached by {x.detached_by}",
        )  # fmt: skip
    output.print_(t)


def _print_run(run: Any) -> None:
    output.print_(
        f"loop run {run.id} of {run.loop}: {_state(run.state.value)} "
        f"({run.trigger}, started by {run.started_by} {output.when(run.started_at)})"
    )
    facts = [
        ("pipeline run", run.pipeline_run),
        ("candidate", run.candidate),
        ("request", run.request),
    ]
    shown = "; ".join(f"{k} {v}" for k, v in facts if v)
    if shown:
        output.print_(f"  {shown}")
    for step in run.steps:
        output.print_(
            f"  {output.when(step.at)} [bold]{step.kind.value}[/] {step.actor}: "
            f"{output.escape(step.text)}"
        )


def show(
    what: Annotated[str, typer.Argument(metavar="NAME|RUN", help="A loop, or a loop run's id.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A loop (its settings and latest runs), or a loop run with every step."""
    from relayml.errors import NotFound
    from relayml.wire.loops import LoopOut, LoopRunOut

    with state.backend() as backend:
        p = state.project(project)
        try:
            loop = backend.loops.get(p, what)
        except NotFound:
            run = backend.loops.get_run(what)
            if as_json:
                output.emit_json(LoopRunOut.from_domain(run))
            else:
                _print_run(run)
            return
        recent = backend.loops.list_runs(p, loop.name, 10)
    if as_json:
        output.emit_json(LoopOut.from_domain(loop))
        return
    s = loop.spec
    output.print_(f"loop {loop.name}: {s.pipeline} -> {loop.model}@{loop.alias} via {s.deployment}")
    output.print_(
        f"  on {', '.join(s.on) or 'nothing (by hand)'}; candidate from step {s.candidate_step}; "
        f"evaluated on {s.evaluate_on or 'the policy dataset'}; canary {s.canary_percent:g}% "
        f"until {s.min_feedback} rows with feedback per arm (alpha {s.alpha:g})"
    )
    for r in recent:
        output.print_(f"  {r.id} {_state(r.state.value)} {output.when(r.started_at)} {r.reason}")


def start(
    name: Annotated[str, typer.Argument(help="The loop.")],
    reason: ReasonOpt,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Start a run of the loop by hand; the runner (relay loops run) drives it."""
    with state.backend() as backend:
        run = backend.loops.start(state.project(project), name, reason)
    if as_json:
        from relayml.wire.loops import LoopRunOut

        output.emit_json(LoopRunOut.from_domain(run))
        return
    output.print_(f"loop run {run.id} started; relay loops run --once drives it")


def runs(
    loop: Annotated[str | None, typer.Argument(help="Only this loop's.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 20,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Loop runs, newest first."""
    with state.backend() as backend:
        found = backend.loops.list_runs(state.project(project), loop, limit)
    if as_json:
        from relayml.wire.loops import LoopRunOut

        output.emit_json([LoopRunOut.from_domain(r) for r in found])
        return
    t = output.table("run", "loop", "state", "started", "candidate", "request", "last step",
                     no_wrap=("run",))  # fmt: skip
    for r in found:
        t.add_row(
            r.id, r.loop, _state(r.state.value), output.when(r.started_at), r.candidate or "-",
            r.request or "-", output.escape(r.steps[-1].text) if r.steps else "-",
        )  # fmt: skip
    output.print_(t)


def stop(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="The loop run.")],
    reason: ReasonOpt,
    as_json: JsonOpt = False,
) -> None:
    """Stop a loop run: its canary leaves the deployment and its request is withdrawn, now."""
    with state.backend() as backend:
        run = backend.loops.stop(run_id, reason)
    if as_json:
        from relayml.wire.loops import LoopRunOut

        output.emit_json(LoopRunOut.from_domain(run))
        return
    output.print_(f"loop run {run.id} stopped: {output.escape(run.steps[-1].text)}")


def run(
    once: Annotated[bool, typer.Option("--once", help="One tick, then exit.")] = False,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between ticks.")] = 30.0,
    executor: Annotated[str, typer.Option("--executor", "-x", help="local or ray.")] = "local",
    project: ProjectOpt = None,
) -> None:
    """The loop runner: each tick moves every run on, runs the pipelines of waiting runs here,
    and decides canaries from the prediction log and feedback."""
    from relayml import loops
    from relayml.pipelines import worker_env

    env = worker_env(state.settings(), state.options.server, state.options.token)

    def report(turn: loops.Turn) -> None:
        output.print_(
            f"{turn.run.loop} {turn.run.id[:12]} {_state(turn.run.state.value)}: "
            f"{output.escape(turn.did)}"
        )

    with state.backend() as backend:
        p = state.project(project)
        if once:  # in a worker thread too, so Ctrl-C or SIGTERM cancels its pipeline
            loops.serve(backend, p, executor=executor, env=env, on_turn=report, stop_after=1)
            return
        output.print_(f"relay loops run: a tick every {interval:g} s; Ctrl-C stops it")
        try:
            with state.delivering(backend):
                loops.serve(
                    backend, p, interval=interval, executor=executor, env=env, on_turn=report
                )
        except KeyboardInterrupt:
            output.print_("stopped")


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Loops: alert -> retrain -> evaluation -> approval -> canary -> promotion."
    )
    for name, fn in (
        ("attach", attach),
        ("detach", detach),
        ("ls", ls),
        ("show", show),
        ("start", start),
        ("runs", runs),
        ("stop", stop),
        ("run", run),
    ):
        group.command(name)(fn)
    app.add_typer(group, name="loops", no_args_is_help=True)
