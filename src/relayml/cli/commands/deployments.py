"""`relay deploy` and `relay deployments`: create deployments, change their traffic, promote a
canary, roll back, archive, see what they serve, send feedback, list log segments.

    relay deploy churn@production --name churn-api
    relay deployments set-traffic churn-api --canary churn@4 --canary-percent 10
    relay deployments promote-canary churn-api
    relay deployments rollback churn-api --reason "error rate up"
    relay deployments feedback churn-api PREDICTION_ID --label churned
    relay deployments feedback-import churn-api labels.csv   # many at once, in batches
    relay deployments export churn-api --out deploy/      # Dockerfile + Kubernetes manifests
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from relayml.cli import options, output, state
from relayml.cli.releases import SmokeOpt, TimeoutOpt, UrlOpt, WaitOpt, check_wait, wait_for
from relayml.errors import InvalidInput, RelayError

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
ProjectOpt = Annotated[
    str | None, typer.Option("--project", "-p", help="Project (default: the global one).")
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the history and audit).")]
CanaryOpt = Annotated[
    str | None, typer.Option("--canary", help="A version or alias answering a share of traffic.")
]
PercentOpt = Annotated[
    float, typer.Option("--canary-percent", help="The canary's share of live traffic, 0-100.")
]
StickyOpt = Annotated[
    str | None,
    typer.Option("--sticky-key", help="Request header or record field whose value picks the arm."),
]
ShadowOpt = Annotated[
    str | None,
    typer.Option("--shadow", help="A version or alias sent every request; answers only logged."),
]


def _emit(value: Any) -> None:
    from relayml.wire import deployments as w

    kinds: dict[str, Any] = {
        "Deployment": w.DeploymentOut,
        "DeploymentChange": w.DeploymentChangeOut,
        "Resolution": w.ResolutionOut,
        "LogSegment": w.LogSegmentOut,
        "Feedback": w.FeedbackOut,
        "FeedbackBatch": w.FeedbackBatchOut,
    }
    if isinstance(value, list):
        output.emit_json([kinds[type(v).__name__].from_domain(v) for v in value])
    else:
        output.emit_json(kinds[type(value).__name__].from_domain(value))


def _rules(traffic: Any) -> str:
    parts = []
    if traffic.canary:
        sticky = f", sticky by {traffic.sticky_key}" if traffic.sticky_key else ""
        parts.append(f"canary {traffic.canary} {output.number(traffic.canary_percent)}%{sticky}")
    if traffic.shadow:
        parts.append(f"shadow {traffic.shadow}")
    return "; ".join(parts) or "all traffic to the primary"


def _line(dep: Any) -> str:
    how = "pinned" if dep.pinned else "follows the alias"
    archived = " [red]ARCHIVED[/]" if dep.status.value == "archived" else ""
    return f"{dep.name}: {dep.target} ({how}){archived}, revision {dep.revision}"


def _served(res: Any) -> None:
    if not res.arms:
        output.print_("  serves nothing (archived, or its alias points nowhere)")
    for arm in res.arms:
        share = "mirror" if arm.role.value == "shadow" else f"{output.number(arm.weight)}%"
        output.print_(
            f"  {arm.role.value:<8} {arm.ref:<24} version {arm.version:<5} {share:<7} "
            f"sha256 {arm.digest[:12]} {arm.flavor}"
        )


def deploy(
    target: Annotated[
        str, typer.Argument(help="churn@production follows the alias; churn@3 pins version 3.")
    ],
    name: Annotated[str, typer.Option("--name", help="The deployment's name (e.g. churn-api).")],
    canary: CanaryOpt = None,
    canary_percent: PercentOpt = 0.0,
    sticky_key: StickyOpt = None,
    shadow: ShadowOpt = None,
    unsafe_pickle: Annotated[
        bool,
        typer.Option("--unsafe-pickle", help="Allow serving pickle versions (they run code)."),
    ] = False,
    reason: ReasonOpt = "",
    wait: WaitOpt = False,
    url: UrlOpt = None,
    timeout: TimeoutOpt = 120.0,
    smoke: SmokeOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a deployment of a model version or alias, with optional canary and shadow."""
    from relayml.domain.deployments import TrafficRules

    check_wait(wait, url)
    proj = state.project(project)
    traffic = TrafficRules(canary, canary_percent, sticky_key, shadow)
    with state.backend() as backend:
        dep = backend.deployments.create(
            proj, name, target, traffic=traffic, unsafe_pickle=unsafe_pickle, reason=reason
        )
        res = backend.deployments.resolve(proj, dep.name)
        if as_json:
            _emit(dep)
        else:
            output.print_(f"deployed {_line(dep)}")
            _served(res)
        if wait and url is not None:
            wait_for(backend, proj, res, url, timeout, smoke, rollback=False)
        elif not as_json:
            output.print_(f"[dim]serve it with: relay serve {dep.name}[/]")


def ls(
    include_archived: Annotated[bool, typer.Option("--all", help="Archived ones too.")] = False,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The project's deployments, what they target and their traffic rules."""
    proj = state.project(project)
    with state.backend() as backend:
        found = backend.deployments.list_deployments(proj, include_archived)
    if as_json:
        _emit(found)
        return
    t = output.table("deployment", "target", "traffic", "revision", "status", "updated", "by")
    for d in found:
        t.add_row(
            d.name,
            d.target,
            _rules(d.traffic),
            str(d.revision),
            d.status.value,
            output.when(d.updated_at),
            d.updated_by,
        )
    output.print_(t)
    if not found:
        hint = "create one with: relay deploy MODEL@ALIAS --name NAME"
        output.print_(f"[dim]no deployments in {proj}; {hint}[/]")


def show(name: options.DeploymentArg, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """One deployment: its target, traffic rules and the exact versions it serves now."""
    proj = state.project(project)
    with state.backend() as backend:
        dep = backend.deployments.get(proj, name)
        res = backend.deployments.resolve(proj, name)
    if as_json:
        _emit(dep)
        return
    output.print_(_line(dep))
    output.print_(f"  traffic     {_rules(dep.traffic)}")
    output.print_(f"  created     {output.when(dep.created_at)} by {dep.created_by}")
    output.print_(f"  changed     {output.when(dep.updated_at)} by {dep.updated_by}")
    if dep.unsafe_pickle:
        output.print_("  [red]may serve pickle versions (--unsafe-pickle)[/]")
    output.print_("serving now:")
    _served(res)


def resolve(
    name: options.DeploymentArg, project: ProjectOpt = None, as_json: JsonOpt = False
) -> None:
    """The exact versions and digests each arm serves now (what model servers poll)."""
    with state.backend() as backend:
        res = backend.deployments.resolve(state.project(project), name)
    if as_json:
        _emit(res)
        return
    output.print_(f"{res.deployment} revision {res.revision} at {output.when(res.resolved_at)}")
    _served(res)


def history(
    name: options.DeploymentArg, project: ProjectOpt = None, as_json: JsonOpt = False
) -> None:
    """Every change, newest first: what it did, who, why, and the primary version before and
    after."""
    with state.backend() as backend:
        found = backend.deployments.history(state.project(project), name)
    if as_json:
        _emit(found)
        return
    t = output.table("rev", "action", "when", "who", "target", "version", "traffic", "reason")
    for c in found:
        before = c.before.primary_version if c.before else None
        version = f"{before if before is not None else '-'} → {c.after.primary_version or '-'}"
        t.add_row(
            str(c.revision),
            c.action.value,
            output.when(c.at),
            c.who,
            c.after.target,
            version,
            _rules(c.after.traffic),
            c.reason,
        )
    output.print_(t)


def set_target(
    name: options.DeploymentArg,
    target: Annotated[str, typer.Argument(help="churn@production or churn@3.")],
    reason: ReasonOpt = "",
    wait: WaitOpt = False,
    url: UrlOpt = None,
    timeout: TimeoutOpt = 120.0,
    smoke: SmokeOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Follow another alias or pin another version (of the same model).

    With --wait --url, exit 0 only once the model server serves it and answers a smoke
    request; otherwise the deployment is rolled back (the server never stopped serving the
    previous version) and the exit code is 1."""
    check_wait(wait, url)
    proj = state.project(project)
    with state.backend() as backend:
        dep = backend.deployments.set_target(proj, name, target, reason=reason)
        res = backend.deployments.resolve(proj, name)
        if as_json:
            _emit(dep)
        else:
            output.print_(_line(dep))
            _served(res)
        if wait and url is not None:
            wait_for(backend, proj, res, url, timeout, smoke, rollback=True)


def set_traffic(
    name: options.DeploymentArg,
    canary: CanaryOpt = None,
    canary_percent: PercentOpt = 0.0,
    sticky_key: StickyOpt = None,
    shadow: ShadowOpt = None,
    reason: ReasonOpt = "",
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace the traffic rules; with no --canary and no --shadow, all traffic goes to the
    primary."""
    proj = state.project(project)
    with state.backend() as backend:
        dep = backend.deployments.set_traffic(
            proj,
            name,
            canary=canary,
            canary_percent=canary_percent,
            shadow=shadow,
            sticky_key=sticky_key,
            reason=reason,
        )
        res = backend.deployments.resolve(proj, name)
    if as_json:
        _emit(dep)
        return
    output.print_(f"{_line(dep)}: {_rules(dep.traffic)}")
    _served(res)


def promote_canary(
    name: options.DeploymentArg,
    reason: ReasonOpt = "",
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """All traffic to the canary's version. A deployment that follows an alias is promoted
    only once the alias holds that version (open a promotion request first)."""
    proj = state.project(project)
    with state.backend() as backend:
        dep = backend.deployments.promote_canary(proj, name, reason=reason)
        res = backend.deployments.resolve(proj, name)
    if as_json:
        _emit(dep)
        return
    output.print_(f"promoted the canary: {_line(dep)}")
    _served(res)


def rollback(
    name: options.DeploymentArg,
    reason: ReasonOpt = "",
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Back at once to the version served before (with a canary live: all traffic to the
    primary). The deployment is pinned to that version."""
    proj = state.project(project)
    with state.backend() as backend:
        before = backend.deployments.get(proj, name)
        dep = backend.deployments.rollback(proj, name, reason=reason)
        res = backend.deployments.resolve(proj, name)
    if as_json:
        _emit(dep)
        return
    output.print_(f"rolled back {dep.name}: now pinned to {dep.target}")
    _served(res)
    if not before.pinned:
        output.print_(
            f"it no longer follows {before.target}; to follow it again: relay deployments "
            f"set-target {dep.name} {before.target}"
        )


def archive(
    name: options.DeploymentArg,
    reason: ReasonOpt = "",
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stop serving the deployment; its history, log segments and feedback stay."""
    with state.backend() as backend:
        dep = backend.deployments.archive(state.project(project), name, reason=reason)
    if as_json:
        _emit(dep)
        return
    output.print_(f"archived {dep.name} (revision {dep.revision})")


def feedback(
    name: options.DeploymentArg,
    prediction_id: Annotated[str, typer.Argument(help="The prediction_id the server returned.")],
    label: Annotated[
        str | None,
        typer.Option(help='The right answer: 1, true, churned (quote "1" to mean the text).'),
    ] = None,
    outcome: Annotated[float | None, typer.Option(help="A number observed later.")] = None,
    comment: Annotated[str | None, typer.Option(help="What was wrong, in words.")] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace feedback already given on it.")
    ] = False,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send feedback on one prediction: its right label or a later outcome, and a comment."""
    from relayml.domain.feedback_text import parse_label

    with state.backend() as backend:
        fb = backend.deployments.submit_feedback(
            state.project(project),
            name,
            prediction_id,
            label=parse_label(label),
            outcome=outcome,
            comment=comment,
            replace=replace,
        )
    if as_json:
        _emit(fb)
        return
    given = ", ".join(
        x
        for x in (
            f"label {fb.label!r}" if fb.label is not None else "",
            f"outcome {output.number(fb.outcome)}" if fb.outcome is not None else "",
        )
        if x
    )
    output.print_(f"feedback on {fb.prediction_id} of {fb.deployment} recorded: {given}")


def feedback_import(
    name: options.DeploymentArg,
    path: Annotated[
        Path,
        typer.Argument(
            help="A CSV file with a header: prediction_id, and label and/or outcome (comment "
            "optional).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace feedback already given on them.")
    ] = False,
    batch_size: Annotated[
        int, typer.Option("--batch", help="Predictions per request (1-10000); each is all or none.")
    ] = 1000,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send feedback on many predictions from a CSV file (labels that arrived late), in
    batches that are each recorded whole or not at all."""
    from relayml.domain.deployments import MAX_FEEDBACK_IDS
    from relayml.domain.feedback_text import feedback_items_from_csv

    if not 1 <= batch_size <= MAX_FEEDBACK_IDS:
        raise InvalidInput(f"--batch must be 1 to {MAX_FEEDBACK_IDS}, not {batch_size}")
    items = feedback_items_from_csv(path.read_bytes().decode("utf-8"), str(path))
    batches = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
    done: list[Any] = []
    with state.backend() as backend:
        proj = state.project(project)
        for n, chunk in enumerate(batches, start=1):
            try:
                done.append(
                    backend.deployments.submit_feedback_batch(proj, name, chunk, replace=replace)
                )
            except RelayError as e:
                sent = sum(b.added + b.replaced for b in done)
                raise type(e)(
                    f"batch {n} of {len(batches)} (rows {(n - 1) * batch_size + 2} to "
                    f"{(n - 1) * batch_size + len(chunk) + 1}) was refused, nothing of it "
                    f"recorded; the {sent} predictions of the batches before it were: {e}"
                ) from None
    if as_json:
        _emit(done)
        return
    added = sum(b.added for b in done)
    replaced = sum(b.replaced for b in done)
    output.print_(
        f"feedback on {added + replaced} predictions of {name} recorded in {len(done)} "
        f"batch{'es' if len(done) != 1 else ''} ({added} new, {replaced} replaced)"
    )


def feedback_ls(
    name: options.DeploymentArg,
    ids: Annotated[
        list[str] | None, typer.Option("--id", help="Only these prediction ids (repeatable).")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(help="From this UTC time on.", formats=options.TIMES)
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many (1-10000).")] = 1000,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Feedback on the deployment's predictions, oldest first."""

    with state.backend() as backend:
        found = backend.deployments.list_feedback(
            state.project(project),
            name,
            prediction_ids=ids or None,
            since=since.replace(tzinfo=UTC) if since is not None else None,
            limit=limit,
        )
    if as_json:
        _emit(found)
        return
    t = output.table("prediction", "label", "outcome", "comment", "when", "who")
    for f in found:
        t.add_row(
            f.prediction_id,
            "-" if f.label is None else json.dumps(f.label),
            "-" if f.outcome is None else output.number(f.outcome),
            f.comment or "",
            output.when(f.at),
            f.who,
        )
    output.print_(t)


def segments(
    name: options.DeploymentArg,
    since: Annotated[
        datetime | None, typer.Option(help="From this UTC time on.", formats=options.TIMES)
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(help="Up to this UTC time.", formats=options.TIMES)
    ] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The Parquet segments of the deployment's prediction log, oldest first."""

    with state.backend() as backend:
        found = backend.deployments.list_segments(
            state.project(project),
            name,
            since=since.replace(tzinfo=UTC) if since is not None else None,
            until=until.replace(tzinfo=UTC) if until is not None else None,
        )
    if as_json:
        _emit(found)
        return
    t = output.table("segment", "uri", "records", "first", "last", "server", no_wrap=("segment",))
    for s in found:
        t.add_row(
            s.id,
            s.uri,
            str(s.records),
            output.when(s.first_at),
            output.when(s.last_at),
            s.server_id,
        )
    output.print_(t)
    total = sum(s.records for s in found)
    output.print_(f"[dim]{len(found)} segments, {total} records[/]")


def register(app: typer.Typer) -> None:
    from relayml.cli import releases, shift

    app.command("deploy")(deploy)
    deployments = typer.Typer(
        help="Deployments: what model servers serve, traffic rules, rollback, feedback."
    )
    commands: tuple[tuple[str, Any], ...] = (
        ("ls", ls),
        ("show", show),
        ("resolve", resolve),
        ("history", history),
        ("set-target", set_target),
        ("set-traffic", set_traffic),
        ("promote-canary", promote_canary),
        ("rollback", rollback),
        ("archive", archive),
        ("feedback", feedback),
        ("feedback-ls", feedback_ls),
        ("feedback-import", feedback_import),
        ("segments", segments),
        ("compare", releases.compare),
        ("traffic", releases.traffic),
        ("smoke", releases.smoke_test),
        ("verify", shift.verify),
        ("export", releases.export),
    )
    for name, fn in commands:
        deployments.command(name)(fn)
    app.add_typer(deployments, name="deployments", no_args_is_help=True)
