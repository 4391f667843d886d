"""Feedback on predictions: the right label or a later outcome for one prediction, a CSV of
many (pasted, or a file the browser reads into the form), and the feedback given so far.

Stakeholders (and ML engineers) give it; every role may read it. The forms call
`submit_feedback` and `submit_feedback_batch`, which check `feedback.submit` whatever the page
showed; a CSV is read by `domain.feedback_text`, as `relay deployments feedback-import` reads
its file, and sent as one batch (all or nothing).
"""

from __future__ import annotations

from starlette.responses import Response

from relayml.domain.deployments import Deployment, Feedback
from relayml.domain.feedback_text import feedback_items_from_csv, parse_label, parse_outcome
from relayml.domain.roles import Action
from relayml.ui.web import Area, Context, NavItem

area = Area(NavItem("Feedback", "feedback", Action.FEEDBACK_SUBMIT, 55))
SHOWN = 50
MAX_CSV_BYTES = 2 * 1024 * 1024
"""A form with a CSV of up to 10,000 labels (the most one batch takes) fits in this."""


@area.get("/p/{project}/feedback")
def feedback(ctx: Context) -> Response:
    deployments = ctx.services.deployments.list_deployments(ctx.who, ctx.project)
    names = [d.name for d in deployments]
    chosen = ctx.arg("deployment") or (names[0] if names else "")
    given = recent(ctx, chosen, SHOWN) if chosen and ctx.may(Action.FEEDBACK_READ) else None
    return ctx.render(
        "feedback/feedback.html",
        deployments=deployments,
        chosen=chosen,
        given=given,
        recorded=_counts(ctx),
        shown=SHOWN,
    )


def recent(ctx: Context, deployment: str, limit: int) -> list[Feedback]:
    """The newest feedback on a deployment, newest first."""
    found = ctx.services.deployments.list_feedback(ctx.who, ctx.project, deployment, limit=limit)
    return sorted(found, key=lambda f: f.at, reverse=True)


def recent_everywhere(ctx: Context, deployments: list[Deployment], limit: int) -> list[Feedback]:
    """The newest feedback over the first deployments (a stakeholder's home)."""
    found = [f for d in deployments[:10] for f in recent(ctx, d.name, limit)]
    return sorted(found, key=lambda f: f.at, reverse=True)[:limit]


def _counts(ctx: Context) -> tuple[int, int] | None:
    """What the last form recorded, from the redirect's query (numbers only: no text of the
    URL reaches the page): (added, replaced), or (0, 0) for one prediction's feedback."""
    if ctx.arg("recorded") == "1":
        return 0, 0
    added, replaced = ctx.arg("added"), ctx.arg("replaced")
    if added.isdigit() and replaced.isdigit():
        return int(added), int(replaced)
    return None


@area.post("/p/{project}/feedback")
def give(ctx: Context) -> Response:
    f = ctx.form
    name = f.get("deployment", "")
    ctx.services.deployments.submit_feedback(
        ctx.who,
        ctx.project,
        name,
        f.get("prediction_id", "").strip(),
        label=parse_label(f.get("label", "").strip() or None),
        outcome=parse_outcome(f.get("outcome"), "the form"),
        comment=f.get("comment", "").strip() or None,
        replace=f.get("replace") == "1",
    )
    return ctx.redirect(ctx.url("feedback", deployment=name, recorded=1) + "#given")


@area.post("/p/{project}/feedback/batch", max_form_bytes=MAX_CSV_BYTES)
def give_many(ctx: Context) -> Response:
    f = ctx.form
    name = f.get("deployment", "")
    items = feedback_items_from_csv(f.get("csv", ""), "the CSV")
    batch = ctx.services.deployments.submit_feedback_batch(
        ctx.who, ctx.project, name, items, replace=f.get("replace") == "1"
    )
    url = ctx.url("feedback", deployment=name, added=batch.added, replaced=batch.replaced)
    return ctx.redirect(url + "#given")
