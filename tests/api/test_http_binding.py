"""The http binding's argument checks run before anything is sent (`client/http/binding.py`):
what a route refuses never reaches the transport, and a route cannot check what its operation
does not take."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest

from relayml.client.deployments import DeploymentsApi
from relayml.client.http import deployments, loops, monitors
from relayml.client.http.binding import Route, bind, get
from relayml.client.http.transport import HttpTransport
from relayml.client.loops import LoopsApi
from relayml.client.monitors import MonitorsApi
from relayml.errors import InvalidInput


class _Recording:
    """A transport that records what would be sent and answers nothing."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any, Any]] = []

    def call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        self.sent.append((method, path, json, params))
        return []

    def put_file(self, path: str, local_file: Any) -> Any:
        self.sent.append(("PUT", path, None, None))
        return {"blob": "0" * 64}


def _bound(api: type[Any], routes: dict[str, Route]) -> tuple[Any, _Recording]:
    t = _Recording()
    return bind(api, routes, cast(HttpTransport, t)), t


def test_a_refused_argument_is_never_sent(tmp_path: Path) -> None:
    deps, t = _bound(DeploymentsApi, deployments.ROUTES)
    mons, _ = _bound(MonitorsApi, monitors.ROUTES)
    segment = tmp_path / "s.parquet"
    segment.write_bytes(b"x")
    naive = datetime(2026, 1, 1)
    refused = [
        lambda: deps.list_deployments("p", include_archived="yes"),
        lambda: deps.set_target("p", "d", "m@1", reason="bad \ud800"),
        lambda: deps.list_segments("p", "d", since=naive),
        lambda: deps.record_segment(
            "p", "d", segment, uri="u", records=1, first_at=naive, last_at=naive, server_id="s"
        ),
        lambda: mons.list_alerts("p", include_resolved=1),
        lambda: mons.record_check("p", "m", "digest", False, {"why": "nul\x00"}),
        lambda: mons.record_check("p", "m", "digest", False, {1: "x"}),
        lambda: mons.rollups("p", "m", period="x" * 17),
    ]
    for call in refused:
        with pytest.raises(InvalidInput):
            call()
    assert t.sent == []
    assert deps.list_deployments("p", include_archived=True) == []
    assert t.sent == [("GET", "/api/v1/projects/p/deployments", None, {"include_archived": True})]


def test_a_check_must_name_an_argument() -> None:
    routes = {
        **deployments.ROUTES,
        "get": get("/projects/{project}/deployments/{name}", checks={"nme": str}),
    }
    with pytest.raises(TypeError, match="nme"):
        _bound(DeploymentsApi, routes)


def test_values_go_by_the_one_rule_and_what_json_cannot_carry_is_refused() -> None:
    from relayml.client.http.binding import encode
    from relayml.domain.audit import EntityKind

    assert encode({"kind": EntityKind.RUN, "at": [float("nan"), float("inf"), 1.5]}) == {
        "kind": "run",
        "at": ["NaN", "Infinity", 1.5],
    }
    assert type(encode(EntityKind.RUN)) is str  # the value, not the enum member
    with pytest.raises(InvalidInput, match="cannot be sent to the server"):
        encode({"x": object()})
    deps, t = _bound(DeploymentsApi, deployments.ROUTES)
    with pytest.raises(InvalidInput, match="complex"):
        deps.set_target("p", "d", "m@1", reason=1j)  # refused by the route's own check
    assert t.sent == []
    # a route with the default body: refused by the encoding rule itself, nothing sent
    loop_ops, sent = _bound(LoopsApi, loops.ROUTES)
    with pytest.raises(InvalidInput, match=r"builtins\.complex cannot be sent to the server"):
        loop_ops.on_alert("p", "d", "data_drift", "a-1", 1j)
    assert sent.sent == []


def test_every_route_the_client_sends_is_one_the_server_serves() -> None:
    """Each operation's route (method and path, placeholders aside) is in the app's OpenAPI, so a
    typo in a table fails here, not on a user's first remote call. Routes that write their own
    path (`send=`, `segments=`) are covered by the contract suite's http leg."""
    import re

    from relayml.api.app import create_app
    from relayml.client.http import MODULES

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    paths = create_app(None).openapi()["paths"]  # type: ignore[arg-type]
    served = {(m.upper(), shape(p)) for p, ops in paths.items() for m in ops}
    sent = [
        (area, name, route.method, "/api/v1" + shape(route.path))
        for area, module in MODULES.items()
        for name, route in module.ROUTES.items()
        if route.send is None and not route.segments
    ]
    assert len(sent) > 100
    assert [s for s in sent if s[2:] not in served] == []
