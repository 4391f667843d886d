"""One real Relay server for the UI tests, a user per role, and runs whose names, params and
tags carry HTML and script (every page must show them as text)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from relayml.client.http import HttpBackend
from relayml.domain.tracking import MetricPoint
from relayml.testing.server import ServerInfo, running_server

HOSTILE = "<script>window.__pwned=1</script><img src=x onerror=alert(1)>\"'&amp;"
"""User text that would run or break a page if it reached it unescaped."""
PROJECT = "default"
OTHER = "elsewhere"


@dataclass
class UiWorld:
    url: str
    admin_token: str
    tokens: dict[str, str]  # role -> token of the user holding it
    runs: list[str]  # run ids in PROJECT
    other_run: str  # a run in OTHER, where no role-user but the admin holds a role
    home: Path
    extra: dict[str, str] = field(default_factory=dict)


ROLE_USERS = {
    "data_engineer": ("erin", PROJECT),
    "data_scientist": ("dana", PROJECT),
    "ml_engineer": ("mia", PROJECT),
    "model_governance": ("greta", "*"),  # verifying the whole chain is a platform-wide read
    "stakeholder": ("sam", PROJECT),
}


def _seed(backend: HttpBackend, scientist: HttpBackend) -> list[str]:
    ids = []
    now = int(time.time() * 1000)
    for i in range(4):
        run = scientist.tracking.create_run(
            project=PROJECT,
            experiment="churn",
            name=f"run-{i} {HOSTILE}",
            params={"lr": str(0.1 * (i + 1)), "depth": i + 2, "note": HOSTILE},
            tags={"team": HOSTILE},
        )
        points = [
            MetricPoint("auc", 0.6 + 0.01 * s * (i + 1), s, now + s * 1000) for s in range(40)
        ]
        points += [
            MetricPoint("val loss", 1.0 - 0.01 * s * (i + 1), s, now + s * 1000) for s in range(40)
        ]
        scientist.tracking.log_batch(run.id, metrics=points)
        scientist.tracking.end_run(run.id, "failed" if i == 3 else "finished")
        ids.append(run.id)
    for i in range(30):  # enough for two pages of 25
        scientist.tracking.create_run(
            project=PROJECT, experiment="sweep", name=f"sweep-{i:02d}", params={"i": f"{i:02d}"}
        )
    return ids


POLICY = """\
separation_of_duties: true
protected:
  production:
    approvals: 1
    approvers: [model_governance]
    evidence: [load_check]
"""


def _promotion(url: str, tokens: dict[str, str], run_id: str, tmp: Path) -> str:
    """churn@1 from the first run, its alias candidate (set directly), and an open request to make
    it production."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from relayml.flavors.formats import save_model

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x1": rng.normal(size=200), "x2": rng.normal(size=200)})
    model = LogisticRegression().fit(X, (X["x1"] > 0).astype(int))
    path = tmp / "churn.skops"
    saved = save_model(model, path, input_example=X[:5])
    ds, gov = (
        HttpBackend(url, tokens["data_scientist"]),
        HttpBackend(url, tokens["model_governance"]),
    )
    try:
        ds.models.register(
            PROJECT,
            "churn",
            path,
            flavor=saved.flavor.value,
            environment=saved.environment.to_dict(),
            signature=saved.signature.to_dict() if saved.signature else None,
            run_id=run_id,
            description=f"says who will leave {HOSTILE}",
        )
        ds.models.set_alias(PROJECT, "churn@1", "candidate", reason=f"first try {HOSTILE}")
        gov.models.apply_policy(PROJECT, POLICY)
        return ds.models.promote(PROJECT, "churn@1", "production", note=HOSTILE).id
    finally:
        ds.close()
        gov.close()


@pytest.fixture(scope="session")
def ui_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiWorld]:
    home = tmp_path_factory.mktemp("ui-server")
    with running_server(home) as info:
        yield _world(info, home)


def _world(info: ServerInfo, home: Path) -> UiWorld:
    admin = HttpBackend(info.url, info.admin_token)
    try:
        admin.identity.ensure_project(PROJECT)
        admin.identity.create_project(OTHER)
        tokens = {}
        for role, (user, project) in ROLE_USERS.items():
            tokens[role] = admin.identity.create_user(user, [role], project).token
        scientist = HttpBackend(info.url, tokens["data_scientist"])
        try:
            runs = _seed(admin, scientist)
        finally:
            scientist.close()
        other = admin.tracking.create_run(project=OTHER, experiment="x", name="hidden")
        request_id = _promotion(info.url, tokens, runs[0], home)
        world = UiWorld(info.url, info.admin_token, tokens, runs, other.id, home)
        world.extra["request"] = request_id
        return world
    finally:
        admin.close()


@contextmanager
def sign_in(url: str, token: str) -> Iterator[httpx.Client]:
    """A client holding a UI session cookie, signed in through the form as a browser is."""
    with httpx.Client(base_url=url, timeout=30) as client:
        form = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf, form.text
        r = client.post("/login", data={"csrf": csrf.group(1), "token": token, "next": "/"})
        assert r.status_code == 303, r.text
        yield client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page[:2000]
    return found.group(1)


@pytest.fixture(scope="session")
def data_world(ui_world: UiWorld) -> Any:
    """Datasets, contracts, pipeline runs and a deployment on the same server (seed_data.py)."""
    from tests.ui.seed_data import seed_data

    return seed_data(ui_world)


@pytest.fixture(scope="session")
def monitor_world(data_world: Any, ui_world: UiWorld) -> Any:
    """A monitor on churn-api with windows and a live alert (seed_data.py)."""
    from tests.ui.seed_data import seed_monitor

    return seed_monitor(ui_world)


from tests.ui.browser import browser, shots, visit  # noqa: E402, F401 (the shared browser harness)
