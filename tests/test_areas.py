"""Every area has the same name in every layer: the checklist of docs/architecture.md, checked.

An area is declared once, as an attribute of `client.base.Backend`; this test then asks each
layer for its module. A new area that misses a layer fails here with the path to create.
"""

from __future__ import annotations

from pathlib import Path

import relayml
from relayml.api.app import create_app
from relayml.client import http
from relayml.client.base import AREAS
from relayml.client.http import HttpBackend
from relayml.client.local import LocalBackend
from relayml.services import Services

ROOT = Path(relayml.__file__).parent

# Areas older than the checklist that keep a layer elsewhere; a new area is not listed here.
ELSEWHERE = {
    (
        "artifacts",
        "store/sql/{area}.py",
    ): "rows in store/sql/tracking.py, bytes in store/artifacts.py",
    ("identity", "sdk/{area}.py"): "no SDK module: admins use the CLI or backend.identity",
    ("audit", "sdk/{area}.py"): "no SDK module: governance uses the CLI or backend.audit",
    ("artifacts", "sdk/{area}.py"): "sdk/run.py (Run.log_artifact, Run.download_artifact)",
    ("tracking", "sdk/{area}.py"): "sdk/run.py (relay.start_run, search_runs, get_run)",
    ("pipelines", "sdk/{area}.py"): "pipelines/__init__.py (relay.pipelines, @relay.step)",
    ("artifacts", "wire/{area}.py"): "ArtifactOut in wire/tracking.py, beside the runs",
    ("notifications", "cli/commands/{area}.py"): "cli/commands/webhooks.py: `relay webhooks`",
    ("notifications", "sdk/{area}.py"): "sdk/webhooks.py: `relay.webhooks`, what users configure",
}

MODULES = [
    "domain/{area}.py",
    "store/sql/{area}.py",
    "services/{area}.py",
    "client/{area}.py",
    "client/http/{area}.py",
    "wire/{area}.py",
    "api/routers/{area}.py",
    "cli/commands/{area}.py",
    "sdk/{area}.py",
    "testing/contract_{area}.py",
]


def test_every_area_has_a_module_in_every_layer() -> None:
    missing = [
        pattern.format(area=area)
        for area in AREAS
        for pattern in MODULES
        if (area, pattern) not in ELSEWHERE and not (ROOT / pattern.format(area=area)).is_file()
    ]
    assert missing == []


def test_the_exceptions_are_still_true() -> None:
    stale = [k for k in ELSEWHERE if (ROOT / k[1].format(area=k[0])).is_file()]
    assert stale == [], "these areas now have the module: drop them from ELSEWHERE"


def test_every_area_is_wired_in_services_backends_and_the_app() -> None:
    services = Services.__init__.__code__.co_names  # the attributes it assigns
    app = create_app(None)  # type: ignore[arg-type]  # building routes needs no services
    tags = {t for ops in app.openapi()["paths"].values() for op in ops.values() for t in op["tags"]}
    for area in AREAS:
        assert area in services, f"Services has no .{area}"
        assert area in LocalBackend.__init__.__code__.co_names, f"LocalBackend has no .{area}"
        assert area in http.MODULES, f"client/http/__init__.py's MODULES has no {area!r}"
        assert area in HttpBackend.__annotations__, f"HttpBackend has no .{area}"
        assert area in tags, f"no route is tagged {area!r}: add api/routers/{area}.py to the app"
