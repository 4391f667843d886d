"""Drift: the drift report of one dataset version against another, reached from a version's
"Compare with..." form. The numbers are `relay.drift.compare`'s (`services.dataset_drift`, the
same steps on the server) and the content is the HTML report's own (`reports.drift_html.body`),
shown in the UI's layout; the standalone page is one click away as a download."""

from __future__ import annotations

from markupsafe import Markup
from starlette.responses import Response

from relayml.domain.roles import Action
from relayml.reports.drift_html import body, render
from relayml.services.dataset_drift import compare_versions
from relayml.ui.web import CSP, Area, Context, secure

area = Area()
DOWNLOAD_CSP = CSP.replace("style-src 'self'", "style-src 'unsafe-inline'")
"""The standalone report styles itself with one inline <style> element and runs nothing."""


def _choices(ctx: Context) -> list[str]:
    """Every version in the project, for the two pickers (newest first per dataset)."""
    s, who, p = ctx.services, ctx.who, ctx.project
    refs = []
    for info in s.datasets.list_datasets(who, p)[:50]:
        refs += [v.ref for v in reversed(s.datasets.versions(who, p, info.name))][:30]
    return refs


@area.get("/p/{project}/drift")
def drift(ctx: Context) -> Response:
    reference, current = ctx.arg("reference").strip(), ctx.arg("current").strip()
    result = None
    if reference and current:
        result = compare_versions(ctx.services.datasets, ctx.who, ctx.project, reference, current)
    return ctx.render(
        "drift/drift.html",
        reference=reference,
        current=current,
        choices=_choices(ctx),
        result=result,
        report=Markup(body(result.report, level=2)) if result else "",  # noqa: S704 (escaped by drift_html)
        may_read=ctx.may(Action.DATASET_READ),
    )


@area.get("/p/{project}/drift.html")
def drift_download(ctx: Context) -> Response:
    reference, current = ctx.arg("reference").strip(), ctx.arg("current").strip()
    result = compare_versions(ctx.services.datasets, ctx.who, ctx.project, reference, current)
    title = f"Drift of {result.current.ref} from {result.reference.ref}"
    name = f"drift-{result.reference.ref}-{result.current.ref}.html".replace("@", "-")
    response = Response(
        render(result.report, title=title),
        media_type="text/html; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_safe(name)}"'},
    )
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    return secure(response)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
