"""The governance side of the registry: `relay requests`, `relay policy`,
`relay requirements` and `relay inbox`.

    relay requests ls | show ID | approve ID | reject ID --reason ... | comment ID TEXT
    relay requests wait ID --timeout 2h      # CI: exit 0 applied, 1 rejected, 13 still open
    relay policy show | apply policy.yaml
    relay requirements set churn --metric auc --min 0.80
    relay inbox
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from relayml.cli import output, state

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
ProjectOpt = Annotated[
    str | None, typer.Option("--project", "-p", help="Project (default: the global one).")
]
_STATE = {
    "open": "yellow",
    "approved": "cyan",
    "applied": "green",
    "rejected": "red",
    "withdrawn": "dim",
}


# relay requests -----------------------------------------------------------------------------
def print_request(req: Any) -> None:
    colour = _STATE[req.state.value]
    output.print_(
        f"request {req.id}: promote {req.ref} to {req.alias} [{colour}]{req.state.value}[/]"
    )
    output.print_(
        f"  requested by {req.requester} {output.when(req.created_at)}: "
        f"{output.escape(req.note) or '(no note)'}"
    )
    holder = f"{req.model}@{req.holder_version}" if req.holder_version else "nobody"
    output.print_(f"  current holder {holder}; policy version {req.policy_version}")
    if req.hold:
        output.print_(
            f"  held by {req.hold}: approval starts its canary; the alias moves only if the "
            "canary wins (relay loops show RUN)"
        )
    for e in req.evidence:
        mark = "[green]✓[/]" if e.ok else ("[red]✗[/]" if e.required else "[yellow]·[/]")
        need = "" if e.required else " [dim](not required)[/]"
        output.print_(f"  {mark} {e.name.value:13} {output.escape(e.summary)}{need}")
    for r in req.reviews:
        output.print_(f"  {output.when(r.at)} {r.user} {r.kind.value}: {output.escape(r.text)}")
    if req.override_reason:
        output.print_(f"  [yellow]override:[/] {output.escape(req.override_reason)}")


def requests_ls(
    state_: Annotated[
        str | None, typer.Option("--state", help="open, approved, applied, rejected or withdrawn.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Only this model's.")] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Promotion requests, newest first."""
    with state.backend() as backend:
        found = backend.models.list_requests(state.project(project), state_, model)
    if as_json:
        output.emit_json(found)
        return
    t = output.table("request", "model", "to", "state", "by", "opened", "failed evidence")
    for r in found:
        failed = ", ".join(e.name.value for e in r.failed_evidence) or "-"
        t.add_row(
            r.id,
            r.ref,
            r.alias,
            f"[{_STATE[r.state.value]}]{r.state.value}[/]",
            r.requester,
            output.when(r.created_at),
            failed,
        )
    output.print_(t)


def requests_show(
    request_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonOpt = False
) -> None:
    """A request with its evidence and reviews."""
    with state.backend() as backend:
        req = backend.models.get_request(request_id)
    if as_json:
        output.emit_json(req)
        return
    print_request(req)


def wait(
    request_id: Annotated[str, typer.Argument(metavar="ID")],
    timeout: Annotated[
        str, typer.Option(help="How long to wait for a decision (30s, 15m, 2h, 1d).")
    ] = "1h",
    every: Annotated[str, typer.Option(help="How often to look (seconds or 10s, 1m).")] = "5s",
    as_json: JsonOpt = False,
) -> None:
    """Wait for a request's decision, for CI: exit 0 when it is applied (the alias moved), 1
    when rejected or withdrawn, 13 when still open (or approved, waiting for its loop's
    canary) after --timeout."""
    import time

    from relayml.domain.durations import parse_duration
    from relayml.domain.models import RequestState
    from relayml.errors import Timeout

    limit, pause = parse_duration(timeout), parse_duration(every)
    deadline = time.monotonic() + limit
    with state.backend() as backend:
        req = backend.models.get_request(request_id)
        while req.state in (RequestState.OPEN, RequestState.APPROVED):
            if time.monotonic() >= deadline:
                raise Timeout(
                    f"request {req.id} (promote {req.ref} to {req.alias}) is still "
                    f"{req.state.value} after {timeout}; "
                    + (
                        "its reviewers see it in relay inbox"
                        if req.state is RequestState.OPEN
                        else f"its loop's canary decides it ({req.hold})"
                    )
                )
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            req = backend.models.get_request(request_id)
    if as_json:
        output.emit_json(req)
    else:
        print_request(req)
    if req.state is not RequestState.APPLIED:
        raise typer.Exit(code=output.EXIT_CHECK_FAILED)


def approve(
    request_id: Annotated[str, typer.Argument(metavar="ID")],
    note: Annotated[str, typer.Option(help="What you checked.")] = "",
    override_reason: Annotated[
        str | None,
        typer.Option(help="Approve despite failed evidence (only if the policy allows), and why."),
    ] = None,
) -> None:
    """Approve a request; the approval that meets the policy moves the alias at once."""
    with state.backend() as backend:
        req = backend.models.approve(request_id, note, override_reason)
    print_request(req)


def reject(
    request_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option(help="What the requester should fix.")],
) -> None:
    """Reject a request, with a reason."""
    with state.backend() as backend:
        req = backend.models.reject(request_id, reason)
    print_request(req)


def withdraw(
    request_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option(help="Why.")] = "",
) -> None:
    """Withdraw your own request."""
    with state.backend() as backend:
        req = backend.models.withdraw(request_id, reason)
    print_request(req)


def comment(
    request_id: Annotated[str, typer.Argument(metavar="ID")],
    text: Annotated[str, typer.Argument(help="The comment.")],
) -> None:
    """Comment on a request (its participants are notified through the project's webhooks)."""
    with state.backend() as backend:
        req = backend.models.comment(request_id, text)
    print_request(req)


# relay policy, relay requirements, relay inbox -----------------------------------------------
def policy_show(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """The project's promotion policy (the built-in default until one is applied)."""
    with state.backend() as backend:
        pol = backend.models.policy(state.project(project))
    if as_json:
        from relayml.wire.models import PolicyOut

        output.emit_json(PolicyOut.from_domain(pol).model_dump(mode="json"))
        return
    output.print_(
        f"policy version {pol.version}" + (" (built-in default)" if not pol.version else "")
    )
    output.print_(f"  separation of duties: {'on' if pol.separation_of_duties else 'off'}")
    if pol.evaluation:
        ev = pol.evaluation
        output.print_(f"  evaluation: {ev.dataset}, target {ev.target}, slices {list(ev.slices)}")
    for alias, rule in pol.protected.items():
        who = ", ".join(sorted(rule.approvers))
        ev_names = ", ".join(e.value for e in rule.evidence)
        output.print_(
            f"  {alias}: {rule.approvals} approval(s) from {who}; evidence: {ev_names}"
            + ("; override allowed" if rule.allow_override else "")
        )


def policy_apply(
    file: Annotated[Path, typer.Argument(help="The policy YAML.")],
    project: ProjectOpt = None,
) -> None:
    """Make FILE the project's policy (a new version; audited)."""
    from relayml.errors import InvalidInput

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror}") from None
    with state.backend() as backend:
        pol = backend.models.apply_policy(state.project(project), text)
    output.print_(f"applied policy version {pol.version}: protected {', '.join(pol.protected)}")


def requirements_set(
    model: Annotated[str, typer.Argument(help="The model.")],
    metric: Annotated[str, typer.Option(help="e.g. auc, accuracy, rmse.")],
    min_: Annotated[float | None, typer.Option("--min", help="The floor.")] = None,
    max_: Annotated[float | None, typer.Option("--max", help="The ceiling.")] = None,
    project: ProjectOpt = None,
) -> None:
    """Set a metric bound every promotion of MODEL must meet."""
    with state.backend() as backend:
        r = backend.models.set_requirement(state.project(project), model, metric, min_, max_)
    bound = " and ".join(
        b
        for b in (
            f">= {r.min}" if r.min is not None else "",
            f"<= {r.max}" if r.max is not None else "",
        )
        if b
    )
    output.print_(f"{model}: {metric} {bound} (set by {r.set_by})")


def requirements_ls(
    model: Annotated[str, typer.Argument(help="The model.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The metric bounds set on MODEL."""
    with state.backend() as backend:
        found = backend.models.requirements(state.project(project), model)
    if as_json:
        output.emit_json(found)
        return
    t = output.table("metric", "min", "max", "set by", "when")
    for r in found:
        t.add_row(
            r.metric,
            str(r.min if r.min is not None else "-"),
            str(r.max if r.max is not None else "-"),
            r.set_by,
            output.when(r.set_at),
        )
    output.print_(t)


def inbox(
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only this project.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """What awaits your roles: promotion requests to review, quarantined datasets, alerts."""
    with state.backend() as backend:
        items = backend.models.inbox(state.project_if_chosen(project))
    if as_json:
        output.emit_json(items)
        return
    if not items:
        output.print_("[dim]nothing waits for you[/]")
        return
    t = output.table("kind", "project", "id", "what", "since", "by")
    for i in items:
        kind = f"{i.kind} ({i.severity})" if i.severity else i.kind
        t.add_row(kind, i.project, i.id, output.escape(i.title), output.when(i.created_at), i.by)
    output.print_(t)


def register(app: typer.Typer) -> None:
    requests = typer.Typer(help="Promotion requests: review them (approve, reject, comment).")
    commands: tuple[tuple[str, Any], ...] = (
        ("ls", requests_ls),
        ("show", requests_show),
        ("wait", wait),
        ("approve", approve),
        ("reject", reject),
        ("withdraw", withdraw),
        ("comment", comment),
    )
    for name, fn in commands:
        requests.command(name)(fn)
    app.add_typer(requests, name="requests", no_args_is_help=True)
    policy = typer.Typer(help="The project's promotion policy, as code.")
    policy.command("show")(policy_show)
    policy.command("apply")(policy_apply)
    app.add_typer(policy, name="policy", no_args_is_help=True)
    reqs = typer.Typer(help="Stakeholders' metric bounds on a model.")
    reqs.command("set")(requirements_set)
    reqs.command("ls")(requirements_ls)
    app.add_typer(reqs, name="requirements", no_args_is_help=True)
    app.command("inbox")(inbox)
