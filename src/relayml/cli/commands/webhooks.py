"""`relay webhooks add|ls|rm|deliveries|redeliver|deliver`: where a project's events are
sent, and what was."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from relayml.cli import output, state

if TYPE_CHECKING:
    from relayml.domain.notifications import Delivery

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
ProjectOpt = Annotated[
    str | None, typer.Option("--project", "-p", help="Project (default: the global one).")
]
_STATUS = {"delivered": "green", "failed": "red", "pending": "yellow"}


def add(
    url: Annotated[str, typer.Argument(help="Where to POST events: an http(s) URL.")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send the project's events to URL, signed with a new secret (shown once)."""
    with state.backend() as backend:
        added = backend.notifications.add_webhook(state.project(project), url)
    if as_json:
        output.emit_json({"webhook": added.webhook, "secret": added.secret})
        return
    hook = added.webhook
    output.print_(f"added webhook {hook.id} -> {output.escape(hook.url)}")
    output.print_("signing secret (shown once; it will not be shown again):")
    print(added.secret)  # plain, so it is never wrapped and can be copied as is
    output.print_("[dim]check each delivery's Relay-Signature with it (docs/webhooks.md)[/]")


def ls(
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only webhook ids, one per line.")
    ] = False,
) -> None:
    """The project's webhooks (never their secrets)."""
    proj = state.project(project)
    with state.backend() as backend:
        hooks = backend.notifications.list_webhooks(proj)
    if quiet:
        sys.stdout.write("".join(f"{h.id}\n" for h in hooks))
        return
    if as_json:
        output.emit_json(hooks)
        return
    t = output.table("id", "url", "added", "by", no_wrap=("id",))
    for h in hooks:
        t.add_row(h.id, output.escape(h.url), output.when(h.created_at), h.created_by)
    output.print_(t)
    if not hooks:
        output.print_(f"[dim]no webhooks in project {proj}; add one with relay webhooks add URL[/]")


def rm(
    webhook_id: Annotated[str, typer.Argument(metavar="ID", help="The webhook's id (see ls).")],
    project: ProjectOpt = None,
) -> None:
    """Stop sending events to a webhook; its past deliveries stay on record."""
    with state.backend() as backend:
        backend.notifications.remove_webhook(state.project(project), webhook_id)
    output.print_(f"removed webhook {webhook_id}")


def deliveries(
    webhook_id: Annotated[
        str | None, typer.Option("--webhook", help="Only this webhook's deliveries.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many.")] = 50,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recent deliveries: event, attempts, last status code or error, when delivered or when
    the next attempt is due."""
    with state.backend() as backend:
        found = backend.notifications.deliveries(state.project(project), webhook_id, limit)
    if as_json:
        output.emit_json(found)
        return
    _table(found)


def redeliver(
    delivery_id: Annotated[
        str, typer.Argument(metavar="DELIVERY", help="The delivery's id (deliveries --json).")
    ],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a delivery again now, with a new series of attempts under the same delivery id
    (after a receiver's outage, or to replay one it lost)."""
    with state.backend() as backend:
        d = backend.notifications.redeliver(state.project(project), delivery_id)
    if as_json:
        output.emit_json(d)
        return
    _table([d])


def deliver(
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many attempts.")] = 1000,
    as_json: JsonOpt = False,
) -> None:
    """Make the delivery attempts that are due now (retries, and attempts a killed process left
    unfinished), in every project of the embedded store, after sealing with the current key any
    signing secret that is not (a key rotation). A Relay server does both itself."""
    from relayml.client.local import LocalBackend

    with state.backend() as backend:
        if not isinstance(backend, LocalBackend):
            output.print_(
                "[dim]the Relay server sends its own deliveries (its dispatcher); nothing to "
                "do here[/]"
            )
            return
        resealed, unopened = backend.services.notifications.reseal()
        made = backend.services.notifications.deliver_due(limit=limit)
    if resealed:
        sys.stderr.write(f"sealed {resealed} webhook secrets with the current key\n")
    for message in unopened:
        output.warn(message)
    if as_json:
        output.emit_json(made)
        return
    _table(made)
    if not made:
        output.print_("[dim]no delivery attempt was due[/]")


def _table(found: list[Delivery]) -> None:
    t = output.table(
        "delivery", "webhook", "event", "status", "attempts", "last", "delivered", "next"
    )
    for d in found:
        status = f"[{_STATUS[d.status.value]}]{d.status.value}[/]"
        last = str(d.last_status_code) if d.last_status_code else output.escape(d.last_error or "")
        when = output.when(d.delivered_at) if d.delivered_at else "-"
        after = output.when(d.next_attempt_at) if d.next_attempt_at else "-"
        t.add_row(
            d.id[:12], d.webhook_id[:12], d.event_kind, status, str(d.attempts), last, when, after
        )
    output.print_(t)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Webhooks: a project's events, signed, to URLs you choose.")
    for fn in (add, ls, rm, deliveries, redeliver, deliver):
        group.command(fn.__name__)(fn)
    app.add_typer(group, name="webhooks", no_args_is_help=True)
