"""The UI's pages, one module per area. Adding a page (docs/ui.md):

1. In `ui/pages/<area>.py`: `area = Area(NavItem("Label", "path", Action.X_READ, order))` and
   `@area.get("/p/{project}/path")` on a function `(ctx: Context) -> Response` that calls the
   services with `ctx.who` and answers `ctx.render("<area>/page.html", ...)`.
2. Its templates under `ui/templates/<area>/`, extending `base.html`.
3. The module in `AREAS` below. Forms POST with the `csrf` field; the wrapper checks it.
"""

from __future__ import annotations

from relayml.ui.pages import (
    audit,
    compare,
    contracts,
    data,
    deployments,
    drift,
    experiments,
    feedback,
    home,
    monitors,
    pipelines,
    registry,
)
from relayml.ui.web import Area

AREAS: tuple[Area, ...] = (
    home.area,
    experiments.area,
    compare.area,
    data.area,
    contracts.area,
    drift.area,
    pipelines.area,
    registry.area,
    deployments.area,
    feedback.area,
    monitors.area,
    audit.area,
)
