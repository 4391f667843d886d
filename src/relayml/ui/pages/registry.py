"""Registry: models with their versions and aliases, and promotion requests with their evidence,
approved or rejected here by whoever the project's policy names (separation of duties and the
policy are the service's: a forged form is refused there)."""

from __future__ import annotations

from starlette.responses import Response

from relayml.domain.models import RequestState
from relayml.domain.roles import Action
from relayml.ui.web import Area, Context, NavItem

area = Area(NavItem("Registry", "registry", Action.MODEL_READ, 40))


@area.get("/p/{project}/registry")
def registry(ctx: Context) -> Response:
    s, who, p = ctx.services, ctx.who, ctx.project
    models = s.models.list_models(who, p)
    state = ctx.arg("state", "open")
    requests = s.models.list_requests(who, p, state or None)
    chosen = ctx.arg("request")
    focus = s.models.get_request(who, chosen) if chosen else None
    if focus is not None and focus.project != p:
        focus = None
    return ctx.render(
        "registry/registry.html",
        models=models,
        requests=requests,
        state=state,
        states=[x.value for x in RequestState],
        focus=focus,
        may_approve=ctx.may(Action.PROMOTION_APPROVE),
    )


@area.get("/p/{project}/models/{name}")
def model(ctx: Context) -> Response:
    """One model: its versions (flavor, digest, signature, golden set, status, run), its aliases
    now, and every move of them (who, from which version to which, when, through which request)."""
    s, who, p = ctx.services, ctx.who, ctx.project
    name = ctx.request.path_params["name"]
    versions = s.models.versions(who, p, name)
    history = s.models.history(who, p, name)
    aliases = sorted((a, v.version) for v in versions for a in v.aliases)
    return ctx.render(
        "registry/model.html", name=name, versions=versions, history=history, aliases=aliases
    )


@area.post("/p/{project}/requests/{request_id}/approve")
def approve(ctx: Context) -> Response:
    request_id = ctx.request.path_params["request_id"]
    override = ctx.form.get("override_reason", "").strip() or None
    ctx.services.models.approve(ctx.who, request_id, ctx.form.get("note", ""), override)
    return ctx.redirect(ctx.url("registry", state="", request=request_id))


@area.post("/p/{project}/requests/{request_id}/reject")
def reject(ctx: Context) -> Response:
    request_id = ctx.request.path_params["request_id"]
    ctx.services.models.reject(ctx.who, request_id, ctx.form.get("reason", ""))
    return ctx.redirect(ctx.url("registry", state="", request=request_id))
