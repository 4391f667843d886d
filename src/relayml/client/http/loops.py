"""`LoopsApi` over REST: loops, their runs, and a runner's `advance` and `decide`."""

from __future__ import annotations

from dataclasses import asdict

from relayml.client.http.binding import Args, Route, get, post
from relayml.domain.loops import check_run_id


def _attach(a: Args) -> object:
    # as given: the server checks the values (durations may be text such as "7d")
    return {"name": a["name"], **asdict(a["spec"]), "on": list(a["spec"].on)}


_RUN = {"run_id": check_run_id}

ROUTES: dict[str, Route] = {
    "attach": post("/projects/{project}/loops", body=_attach),
    "detach": post("/projects/{project}/loops/{name}/detach"),
    "get": get("/projects/{project}/loops/{name}"),
    "list_loops": get("/projects/{project}/loops"),
    "start": post("/projects/{project}/loops/{name}/runs"),
    "on_alert": post("/projects/{project}/loop-alerts"),
    "get_run": get("/loop-runs/{run_id}", checks=_RUN),
    "list_runs": get("/projects/{project}/loop-runs"),
    "stop": post("/loop-runs/{run_id}/stop", checks=_RUN),
    "advance": post("/projects/{project}/loop-runs/advance"),
    "decide": post("/loop-runs/{run_id}/decide", checks=_RUN),
}
