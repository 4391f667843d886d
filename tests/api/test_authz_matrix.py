"""The REST authorization matrix (issue 9, "What must be shown"): every operation of the OpenAPI
document called by 25 identities (authz_world.py: each role, built-in or custom, in the project
and in another, with a custom role, a narrowed built-in and a widened one in force) against a
real `relay server` on 127.0.0.1, once on SQLite and once on PostgreSQL, with path parameters
that name real entities.

The expected answer comes from the project's role table (`TABLE`) through ROUTES, which names
each operation's Action and any rule that decides besides the table (ownership, separation of
duties, checks made platform-wide). An operation the app serves that ROUTES does not classify
fails the test. Allowed calls never answer 401 or 403; a denied one answers 401 when the token
does not authenticate, and 403 otherwise: a role in another project gets 403 (the project
exists; it is never 404, which is kept for names that do not exist). No call answers 5xx.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx
import pytest

from relayml.domain.identity import Role
from relayml.domain.roles import Action
from relayml.testing.server import running_server
from tests.api.authz_world import (
    API,
    APPROVERS,
    OWNER,
    POLICY,
    PROJECT_ROLES,
    TABLE,
    P,
    World,
    build_world,
)
from tests.api.conftest import error_of
from tests.conftest import _scratch_database

A = Action


class Rule(StrEnum):
    """What decides besides the action's roles in the project the route names."""

    TABLE = "the table alone"
    PUBLIC = "no token needed"
    SIGNED_IN = "any identity that authenticates; the answer is filtered to the caller"
    PLATFORM = "checked platform-wide ('*'): a role in one project does not give it"
    SELF_OR_PLATFORM = "the user themselves, or a platform admin (the route names another user)"
    RUN_OWNER = "only the run's owner or an admin writes to a run"
    REQUESTER = "only the requester or an admin withdraws a request"
    APPROVERS = "the policy's approvers, never the requester nor the run's author (SoD)"


RULE_SAYS = {
    Rule.RUN_OWNER: "only its owner or an admin",
    Rule.REQUESTER: "only the requester",
    Rule.APPROVERS: "needs one of the roles",
}
"""What a denial by the rule (where the table alone would allow) says."""

Call = Callable[[World, httpx.Client, str], httpx.Response]
"""(world, the identity's client, the identity's name) -> the response."""


@dataclass(frozen=True)
class Route:
    actions: tuple[Action, ...]  # every one must be allowed (e.g. evaluate reads the dataset)
    call: Call
    rule: Rule = Rule.TABLE


def _v(w: World, path: str) -> str:
    return API + path.format(P=P, **{k: v for k, v in w.ids.items() if isinstance(v, str)})


CHECK = "relayml.testing.checks:positive_amount"  # on the allow-list (tests/conftest.py)


def get(path: str, **params: Any) -> Call:
    return lambda w, c, _: c.get(_v(w, path), params=params)


def post(path: str, body: Any = None) -> Call:
    return lambda w, c, _: c.post(_v(w, path), json=body if body is not None else {})


def put(path: str, body: Any = None, content: bytes | None = None) -> Call:
    if content is not None:
        return lambda w, c, _: c.put(_v(w, path), content=content)
    return lambda w, c, _: c.put(_v(w, path), json=body)


def patch(path: str, body: Any) -> Call:
    return lambda w, c, _: c.patch(_v(w, path), json=body)


def on_fresh_run(method: str, tail: str, **kw: Any) -> Call:
    """The call on a new running run of OWNER's, so every identity meets the same state."""
    return lambda w, c, _: c.request(method, f"{API}/runs/{w.fresh_run()}{tail}", **kw)


def on_fresh_pipeline_run(method: str, tail: str, **kw: Any) -> Call:
    return lambda w, c, _: c.request(
        method, f"{API}/pipeline-runs/{w.fresh_pipeline_run()}{tail}", **kw
    )


def on_request(verb: str, body: Any, fresh_for: frozenset[str], version: int = 2) -> Call:
    """The call on the shared open request, or on a new one for an identity the table lets do
    `verb` (whose call may decide it)."""

    def call(w: World, c: httpx.Client, name: str) -> httpx.Response:
        ident = w.identities[name]
        mine = ident.valid and not ident.roles_in_p.isdisjoint(fresh_for)
        request_id = w.fresh_request(version) if mine else w.ids["request"]
        return c.post(f"{API}/requests/{request_id}/{verb}", json=body)

    return call


def add_webhook(w: World, c: httpx.Client, _: str) -> httpx.Response:
    r = c.post(f"{API}/projects/{P}/webhooks", json={"url": "http://127.0.0.1:9/h"})
    if r.status_code == 201:  # never kept: it would be called on every later event
        w.ok(w.admin.delete(f"{API}/projects/{P}/webhooks/{r.json()['webhook']['id']}"))
    return r


def remove_webhook(w: World, c: httpx.Client, _: str) -> httpx.Response:
    hook = w.fresh_webhook()
    r = c.delete(f"{API}/projects/{P}/webhooks/{hook}")
    if r.status_code != 204:  # never kept: it would be called on every later event
        w.ok(w.admin.delete(f"{API}/projects/{P}/webhooks/{hook}"))
    return r


def redeliver(w: World, c: httpx.Client, _: str) -> httpx.Response:
    """A failed pipeline run's delivery to a fresh webhook (refused on loopback), sent again;
    the webhook is removed afterwards, so nothing later goes to it."""
    hook = w.fresh_webhook()
    try:
        run = w.fresh_pipeline_run()
        w.ok(
            w.admin.post(
                f"{API}/pipeline-runs/{run}/finish", json={"status": "failed", "error": "matrix"}
            )
        )
        found = w.ok(w.admin.get(f"{API}/projects/{P}/webhook-deliveries?webhook={hook}"))
        return c.post(f"{API}/projects/{P}/webhook-deliveries/{found[0]['id']}/redeliver")
    finally:
        w.ok(w.admin.delete(f"{API}/projects/{P}/webhooks/{hook}"))


DAILY = f"{API}/projects/{P}/pipelines/daily"


def pause_daily(w: World, c: httpx.Client, _: str) -> httpx.Response:
    r = c.post(f"{DAILY}/pause", json={"reason": "matrix"})
    if r.status_code == 200:  # every identity meets a running schedule
        w.ok(w.admin.post(f"{DAILY}/resume"))
    return r


def resume_daily(w: World, c: httpx.Client, _: str) -> httpx.Response:
    w.admin.post(f"{DAILY}/pause", json={"reason": "matrix"})  # 409 when a denial left it paused
    r = c.post(f"{DAILY}/resume")
    if r.status_code != 200:
        w.ok(w.admin.post(f"{DAILY}/resume"))
    return r


def regrant_then_revoke(w: World, c: httpx.Client, _: str) -> httpx.Response:
    w.admin.post(f"{API}/users/victim/grants", json={"role": "data_engineer", "project": P})
    return c.delete(f"{API}/users/victim/grants/data_engineer", params={"project": P})


def on_fresh_deployment(tail: str) -> Call:
    """The call on a new deployment with a canary, so every identity meets the same state."""
    return lambda w, c, _: c.post(f"{API}/projects/{P}/deployments/{w.fresh_deployment()}{tail}",
                                  json={})  # fmt: skip


def record_segment(w: World, c: httpx.Client, _: str) -> httpx.Response:
    t = "2025-01-01T00:00:00Z"
    body = {
        "uri": f"serving/{P}/churn-api/s-{w.counter()}.parquet",
        "digest": w.ids["segment_blob"],
        "records": 1,
        "first_at": t,
        "last_at": t,
        "server_id": "s",
    }
    return c.post(f"{API}/projects/{P}/deployments/churn-api/segments", json=body)


def attach_loop(w: World, c: httpx.Client, _: str) -> httpx.Response:
    body = {"name": f"mine-{w.counter()}", "pipeline": "retrain", "deployment": "loop-api"}
    return c.post(f"{API}/projects/{P}/loops", json=body)


def on_fresh_monitor(tail: str, paused: bool = False) -> Call:
    """The call on a new monitor for an identity the table lets manage monitors (whose call
    changes it), on the shared one otherwise."""

    def call(w: World, c: httpx.Client, name: str) -> httpx.Response:
        ident = w.identities[name]
        mine = ident.valid and TABLE.allows(ident.roles_in_p, A.MONITOR_MANAGE)
        monitor = w.fresh_monitor(paused) if mine else "churn-api"
        return c.post(f"{API}/projects/{P}/monitors/{monitor}{tail}", json={})

    return call


def on_fresh_alert(tail: str, body: Any) -> Call:
    """The call on a new live alert for an identity the table lets acknowledge alerts."""

    def call(w: World, c: httpx.Client, name: str) -> httpx.Response:
        ident = w.identities[name]
        mine = ident.valid and TABLE.allows(ident.roles_in_p, A.ALERT_ACK)
        alert = w.fresh_alert() if mine else w.ids["alert"]
        return c.post(f"{API}/projects/{P}/alerts/{alert}{tail}", json=body)

    return call


def _body(w: World, key: str) -> Any:
    return w.ids[key]


M = "/projects/{P}/models/churn"
DEPS = "/projects/{P}/deployments"
LOOPS = "/projects/{P}/loops"
DEP = DEPS + "/churn-api"
MONS = "/projects/{P}/monitors"
MON = MONS + "/churn-api"
DS = "/projects/{P}/datasets/holdout/versions"
RUN = "/runs/{run}"
PRUN = "/pipeline-runs/{pipeline_run}"
STEP = {"status": "running"}
ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/healthz"): Route((), lambda w, c, _: c.get("/healthz"), Rule.PUBLIC),
    # identity
    ("GET", "/api/v1/whoami"): Route((), get("/whoami"), Rule.SIGNED_IN),
    ("GET", "/api/v1/projects"): Route((A.PROJECT_READ,), get("/projects"), Rule.SIGNED_IN),
    ("POST", "/api/v1/projects"): Route(
        (A.PROJECT_CREATE,),
        lambda w, c, _: c.post(f"{API}/projects", json={"name": f"n-{w.counter()}"}),
        Rule.PLATFORM,
    ),
    ("PUT", "/api/v1/projects/{project}"): Route((A.PROJECT_READ,), put("/projects/{P}", {})),
    ("GET", "/api/v1/users"): Route((A.USER_READ,), get("/users", project=P)),
    ("POST", "/api/v1/users"): Route(
        (A.USER_MANAGE,),
        lambda w, c, _: c.post(
            f"{API}/users",
            json={"name": f"u-{w.counter()}", "roles": ["stakeholder"], "project": P},
        ),
    ),
    ("POST", "/api/v1/users/{user}/tokens"): Route(
        (A.USER_MANAGE,), post("/users/victim/tokens"), Rule.SELF_OR_PLATFORM
    ),
    ("GET", "/api/v1/tokens"): Route((), get("/tokens"), Rule.SIGNED_IN),
    ("DELETE", "/api/v1/tokens/{token_id}"): Route(
        (A.USER_MANAGE,),
        lambda w, c, _: c.delete(f"{API}/tokens/{w.fresh_victim_token()}"),
        Rule.SELF_OR_PLATFORM,
    ),
    ("POST", "/api/v1/users/{user}/deactivate"): Route(
        (A.USER_MANAGE,), post("/users/victim/deactivate"), Rule.PLATFORM
    ),
    ("POST", "/api/v1/users/{user}/activate"): Route(
        (A.USER_MANAGE,), post("/users/victim/activate"), Rule.PLATFORM
    ),
    ("POST", "/api/v1/users/{user}/grants"): Route(
        (A.GRANT_MANAGE,), post("/users/victim/grants", {"role": "data_scientist", "project": P})
    ),
    ("DELETE", "/api/v1/users/{user}/grants/{role}"): Route((A.GRANT_MANAGE,), regrant_then_revoke),
    # tracking
    ("GET", "/api/v1/projects/{project}/experiments"): Route(
        (A.EXPERIMENT_READ,), get("/projects/{P}/experiments")
    ),
    ("POST", "/api/v1/projects/{project}/runs"): Route(
        (A.RUN_CREATE,), post("/projects/{P}/runs", {"experiment": "matrix"})
    ),
    ("GET", "/api/v1/projects/{project}/runs"): Route((A.RUN_READ,), get("/projects/{P}/runs")),
    ("GET", "/api/v1/runs/{run_id}"): Route((A.RUN_READ,), get(RUN)),
    ("POST", "/api/v1/runs/{run_id}/batch"): Route(
        (A.RUN_UPDATE,),
        on_fresh_run("POST", "/batch", json={"metrics": [["loss", 0.1, 1, 0]]}),
        Rule.RUN_OWNER,
    ),
    ("POST", "/api/v1/runs/{run_id}/end"): Route(
        (A.RUN_UPDATE,), on_fresh_run("POST", "/end", json={"status": "finished"}), Rule.RUN_OWNER
    ),
    ("GET", "/api/v1/runs/{run_id}/metrics/{key}"): Route(
        (A.RUN_READ,), get(RUN + "/metrics/loss")
    ),
    # artifacts
    ("PUT", "/api/v1/runs/{run_id}/artifacts/{path}"): Route(
        (A.ARTIFACT_WRITE,), on_fresh_run("PUT", "/artifacts/b.txt", content=b"b"), Rule.RUN_OWNER
    ),
    ("GET", "/api/v1/runs/{run_id}/artifacts"): Route((A.ARTIFACT_READ,), get(RUN + "/artifacts")),
    ("GET", "/api/v1/runs/{run_id}/artifacts/{path}"): Route(
        (A.ARTIFACT_READ,), get(RUN + "/artifacts/a.txt")
    ),
    # audit and storage
    ("GET", "/api/v1/audit"): Route((A.AUDIT_READ,), get("/audit", project=P, limit=5)),
    ("GET", "/api/v1/audit/verify"): Route((A.AUDIT_READ,), get("/audit/verify"), Rule.PLATFORM),
    ("GET", "/api/v1/metrics"): Route((A.SERVICE_METRICS_READ,), get("/metrics"), Rule.PLATFORM),
    ("POST", "/api/v1/audit/checkpoints"): Route(
        (A.AUDIT_CHECKPOINT,), post("/audit/checkpoints"), Rule.PLATFORM
    ),
    ("POST", "/api/v1/storage/gc"): Route((A.STORAGE_GC,), post("/storage/gc"), Rule.PLATFORM),
    # datasets
    ("PUT", "/api/v1/projects/{project}/datasets/uploads"): Route(
        (A.DATASET_PUBLISH,), put("/projects/{P}/datasets/uploads", content=b"PAR1 not really")
    ),
    ("POST", "/api/v1/projects/{project}/datasets/{name}/versions"): Route(
        (A.DATASET_PUBLISH,),
        lambda w, c, _: c.post(_v(w, DS), json={"blob": w.ids["parquet"]}),
    ),
    ("GET", "/api/v1/projects/{project}/datasets/{name}/versions"): Route(
        (A.DATASET_READ,), get(DS)
    ),
    ("GET", "/api/v1/projects/{project}/datasets"): Route(
        (A.DATASET_READ,), get("/projects/{P}/datasets")
    ),
    ("GET", "/api/v1/projects/{project}/datasets/{name}/versions/{version}"): Route(
        (A.DATASET_READ,), get(DS + "/1")
    ),
    ("GET", "/api/v1/projects/{project}/datasets/{name}/versions/{version}/data"): Route(
        (A.DATASET_READ,), get(DS + "/1/data")
    ),
    ("GET", "/api/v1/projects/{project}/datasets/{name}/versions/{version}/sketch"): Route(
        (A.DATASET_READ,), get(DS + "/1/sketch")
    ),
    ("GET", "/api/v1/projects/{project}/datasets/{name}/versions/{version}/lineage"): Route(
        (A.DATASET_READ,), get(DS + "/1/lineage")
    ),
    ("POST", "/api/v1/projects/{project}/datasets/{name}/versions/{version}/release"): Route(
        (A.DATASET_RELEASE,), post(DS + "/2/release", {"reason": "checked by hand"})
    ),
    # on the quarantined version 2, so the matrix's other routes keep reading version 1
    ("POST", "/api/v1/projects/{project}/datasets/{name}/versions/{version}/quarantine"): Route(
        (A.DATASET_RELEASE,), post(DS + "/2/quarantine", {"reason": "found by hand"})
    ),
    ("POST", "/api/v1/projects/{project}/datasets/{name}/versions/{version}/deprecate"): Route(
        (A.DATASET_RELEASE,), post(DS + "/2/deprecate", {"reason": "superseded"})
    ),
    ("POST", "/api/v1/projects/{project}/datasets/{name}/versions/{version}/undeprecate"): Route(
        (A.DATASET_RELEASE,), post(DS + "/2/undeprecate", {"reason": "needed after all"})
    ),
    ("GET", "/api/v1/installed-checks"): Route((), get("/installed-checks"), Rule.SIGNED_IN),
    ("GET", "/api/v1/projects/{project}/trusted-checks"): Route(
        (A.DATASET_READ,), get("/projects/{P}/trusted-checks")
    ),
    ("POST", "/api/v1/projects/{project}/trusted-checks"): Route(
        (A.CHECK_TRUST,),
        post("/projects/{P}/trusted-checks", {"ref": CHECK, "reason": "reviewed"}),
    ),
    ("DELETE", "/api/v1/projects/{project}/trusted-checks/{ref}"): Route(
        (A.CHECK_TRUST,),
        lambda w, c, _: c.delete(
            f"{API}/projects/{P}/trusted-checks/{CHECK}", params={"reason": "gone"}
        ),
    ),
    ("POST", "/api/v1/runs/{run_id}/datasets"): Route(
        (A.RUN_UPDATE, A.DATASET_READ),
        on_fresh_run("POST", "/datasets", json={"ref": "holdout@1"}),
        Rule.RUN_OWNER,
    ),
    # pipelines
    ("PUT", "/api/v1/projects/{project}/pipelines/{name}"): Route(
        (A.PIPELINE_EDIT,),
        put("/projects/{P}/pipelines/nightly", {"module": "etl:nightly", "steps": [{"name": "a"}]}),
    ),
    ("GET", "/api/v1/pipelines"): Route((A.PIPELINE_READ,), get("/pipelines", project=P)),
    ("GET", "/api/v1/projects/{project}/pipelines/{name}"): Route(
        (A.PIPELINE_READ,), get("/projects/{P}/pipelines/daily")
    ),
    ("POST", "/api/v1/projects/{project}/pipelines/{name}/pause"): Route(
        (A.SCHEDULE_MANAGE,), pause_daily
    ),
    ("POST", "/api/v1/projects/{project}/pipelines/{name}/resume"): Route(
        (A.SCHEDULE_MANAGE,), resume_daily
    ),
    ("GET", "/api/v1/projects/{project}/pipelines/{name}/backfill-plan"): Route(
        (A.PIPELINE_RUN,),
        get("/projects/{P}/pipelines/daily/backfill-plan", start="2026-11-01", end="2026-11-07"),
    ),
    ("POST", "/api/v1/projects/{project}/pipelines/{name}/runs"): Route(
        (A.PIPELINE_RUN,), post("/projects/{P}/pipelines/nightly/runs", {"steps": [{"name": "a"}]})
    ),
    ("GET", "/api/v1/pipeline-triggers/due"): Route(
        (A.SCHEDULE_MANAGE,), get("/pipeline-triggers/due", project=P)
    ),
    ("GET", "/api/v1/projects/{project}/pipeline-runs"): Route(
        (A.PIPELINE_READ,), get("/projects/{P}/pipeline-runs")
    ),
    ("GET", "/api/v1/pipeline-runs/{run_id}"): Route((A.PIPELINE_READ,), get(PRUN)),
    ("PUT", "/api/v1/pipeline-runs/{run_id}/steps/{step}"): Route(
        (A.PIPELINE_RUN,), on_fresh_pipeline_run("PUT", "/steps/a", json=STEP)
    ),
    ("POST", "/api/v1/pipeline-runs/{run_id}/finish"): Route(
        (A.PIPELINE_RUN,), post(PRUN + "/finish", {"status": "finished"})
    ),
    ("GET", "/api/v1/projects/{project}/pipeline-cache/{cache_key}"): Route(
        (A.PIPELINE_READ,), get("/projects/{P}/pipeline-cache/{cache_key}")
    ),
    ("PUT", "/api/v1/pipeline-runs/{run_id}/blobs"): Route(
        (A.PIPELINE_RUN,), on_fresh_pipeline_run("PUT", "/blobs", content=b"more output")
    ),
    ("GET", "/api/v1/pipeline-runs/{run_id}/blobs/{digest}"): Route(
        (A.PIPELINE_READ,), get(PRUN + "/blobs/{blob}")
    ),
    # webhooks
    ("POST", "/api/v1/projects/{project}/webhooks"): Route((A.WEBHOOK_MANAGE,), add_webhook),
    ("GET", "/api/v1/projects/{project}/webhooks"): Route(
        (A.WEBHOOK_READ,), get("/projects/{P}/webhooks")
    ),
    ("DELETE", "/api/v1/projects/{project}/webhooks/{webhook_id}"): Route(
        (A.WEBHOOK_MANAGE,), remove_webhook
    ),
    ("GET", "/api/v1/projects/{project}/webhook-deliveries"): Route(
        (A.WEBHOOK_READ,), get("/projects/{P}/webhook-deliveries")
    ),
    ("POST", "/api/v1/projects/{project}/webhook-deliveries/{delivery_id}/redeliver"): Route(
        (A.WEBHOOK_MANAGE,), redeliver
    ),
    # the model registry
    ("PUT", "/api/v1/projects/{project}/models/uploads"): Route(
        (A.MODEL_REGISTER,),
        lambda w, c, _: c.put(f"{API}/projects/{P}/models/uploads", content=w.ids["model_bytes"]),
    ),
    ("POST", "/api/v1/projects/{project}/models/{name}/versions"): Route(
        (A.MODEL_REGISTER,),
        lambda w, c, _: c.post(
            f"{API}/projects/{P}/models/other/versions", json=_body(w, "model_body")
        ),
    ),
    ("GET", "/api/v1/projects/{project}/models"): Route(
        (A.MODEL_READ,), get("/projects/{P}/models")
    ),
    ("GET", "/api/v1/projects/{project}/models/{name}/versions"): Route(
        (A.MODEL_READ,), get(M + "/versions")
    ),
    ("GET", "/api/v1/projects/{project}/models/{name}/versions/{version}"): Route(
        (A.MODEL_READ,), get(M + "/versions/1")
    ),
    ("GET", "/api/v1/projects/{project}/models/{name}/versions/{version}/artifact"): Route(
        (A.MODEL_READ,), get(M + "/versions/1/artifact")
    ),
    ("GET", "/api/v1/projects/{project}/models/{name}/versions/{version}/golden"): Route(
        (A.MODEL_READ,), get(M + "/versions/1/golden")
    ),
    ("GET", "/api/v1/projects/{project}/models/{name}/history"): Route(
        (A.MODEL_READ,), get(M + "/history")
    ),
    ("PUT", "/api/v1/projects/{project}/models/{name}/aliases/{alias}"): Route(
        (A.MODEL_REGISTER,), put(M + "/aliases/staging", {"version": "1"})
    ),
    ("PATCH", "/api/v1/projects/{project}/models/{name}/versions/{version}/tags"): Route(
        (A.MODEL_REGISTER,), patch(M + "/versions/1/tags", {"tags": {"k": "v"}})
    ),
    ("POST", "/api/v1/projects/{project}/models/{name}/versions/{version}/archive"): Route(
        (A.MODEL_REGISTER,), post(M + "/versions/3/archive")
    ),
    ("GET", "/api/v1/projects/{project}/models/{name}/versions/{version}/report"): Route(
        (A.COMPLIANCE_REPORT,), get(M + "/versions/1/report")
    ),
    ("GET", "/api/v1/projects/{project}/models/{name}/card"): Route(
        (A.MODEL_READ,), get(M + "/card")
    ),
    ("PATCH", "/api/v1/projects/{project}/models/{name}/card"): Route(
        (A.MODEL_CARD_EDIT,), patch(M + "/card", {"fields": {"intended_use": "rank churn"}})
    ),
    ("GET", "/api/v1/projects/{project}/models/{name}/requirements"): Route(
        (A.MODEL_READ,), get(M + "/requirements")
    ),
    ("PUT", "/api/v1/projects/{project}/models/{name}/requirements/{metric}"): Route(
        (A.REQUIREMENT_SET,), put(M + "/requirements/auc", {"min": 0.5})
    ),
    ("GET", "/api/v1/projects/{project}/policy"): Route(
        (A.MODEL_READ,), get("/projects/{P}/policy")
    ),
    ("PUT", "/api/v1/projects/{project}/policy"): Route(
        (A.POLICY_MANAGE,),
        lambda w, c, _: c.put(f"{API}/projects/{P}/policy", json={"text": POLICY}),
    ),
    ("POST", "/api/v1/projects/{project}/models/{name}/versions/{version}/evaluate"): Route(
        (A.MODEL_EVALUATE, A.DATASET_READ),
        post(M + "/versions/1/evaluate", {"dataset": "holdout@1", "target": "label"}),
    ),
    ("POST", "/api/v1/projects/{project}/models/{name}/versions/{version}/promotions"): Route(
        (A.PROMOTION_REQUEST,), post(M + "/versions/2/promotions", {"alias": "production"})
    ),
    ("GET", "/api/v1/projects/{project}/requests"): Route(
        (A.REQUEST_READ,), get("/projects/{P}/requests")
    ),
    ("GET", "/api/v1/requests/{request_id}"): Route((A.REQUEST_READ,), get("/requests/{request}")),
    ("POST", "/api/v1/requests/{request_id}/approve"): Route(
        (A.PROMOTION_APPROVE,), on_request("approve", {}, APPROVERS, version=1), Rule.APPROVERS
    ),
    ("POST", "/api/v1/requests/{request_id}/reject"): Route(
        (A.PROMOTION_APPROVE,), on_request("reject", {"reason": "no"}, APPROVERS), Rule.APPROVERS
    ),
    ("POST", "/api/v1/requests/{request_id}/withdraw"): Route(
        (A.PROMOTION_REQUEST,),
        on_request("withdraw", {}, frozenset(TABLE.holders(A.PROMOTION_REQUEST))),
        Rule.REQUESTER,
    ),
    ("POST", "/api/v1/requests/{request_id}/comments"): Route(
        (A.REQUEST_UPDATE,), post("/requests/{request}/comments", {"text": "looked at it"})
    ),
    ("GET", "/api/v1/inbox"): Route((A.REQUEST_READ,), get("/inbox", project=P), Rule.SIGNED_IN),
    # deployments
    ("GET", "/api/v1/projects/{project}/deployments"): Route((A.DEPLOYMENT_READ,), get(DEPS)),
    ("POST", "/api/v1/projects/{project}/deployments"): Route(
        (A.DEPLOYMENT_CREATE,),
        lambda w, c, _: c.post(
            _v(w, DEPS), json={"name": f"new-{w.counter()}", "target": "churn@2"}
        ),
    ),
    ("GET", "/api/v1/projects/{project}/deployments/{name}"): Route((A.DEPLOYMENT_READ,), get(DEP)),
    ("GET", "/api/v1/projects/{project}/deployments/{name}/history"): Route(
        (A.DEPLOYMENT_READ,), get(DEP + "/history")
    ),
    ("GET", "/api/v1/projects/{project}/deployments/{name}/resolution"): Route(
        (A.DEPLOYMENT_READ,), get(DEP + "/resolution")
    ),
    ("PUT", "/api/v1/projects/{project}/deployments/{name}/target"): Route(
        (A.DEPLOYMENT_CREATE,), put(DEP + "/target", {"target": "churn@1"})
    ),
    ("PUT", "/api/v1/projects/{project}/deployments/{name}/traffic"): Route(
        (A.DEPLOYMENT_CREATE,), put(DEP + "/traffic", {})
    ),
    ("POST", "/api/v1/projects/{project}/deployments/{name}/promote-canary"): Route(
        (A.DEPLOYMENT_CREATE,), on_fresh_deployment("/promote-canary")
    ),
    ("POST", "/api/v1/projects/{project}/deployments/{name}/rollback"): Route(
        (A.DEPLOYMENT_ROLLBACK,), on_fresh_deployment("/rollback")
    ),
    ("POST", "/api/v1/projects/{project}/deployments/{name}/archive"): Route(
        (A.DEPLOYMENT_CREATE,), on_fresh_deployment("/archive")
    ),
    ("PUT", "/api/v1/projects/{project}/deployments/{name}/segments/uploads"): Route(
        (A.PREDICTION_LOG_WRITE,),
        lambda w, c, _: c.put(_v(w, DEP + "/segments/uploads"), content=w.ids["segment_bytes"]),
    ),
    ("POST", "/api/v1/projects/{project}/deployments/{name}/segments"): Route(
        (A.PREDICTION_LOG_WRITE,), record_segment
    ),
    ("GET", "/api/v1/projects/{project}/deployments/{name}/segments"): Route(
        (A.DEPLOYMENT_READ,), get(DEP + "/segments")
    ),
    ("GET", "/api/v1/projects/{project}/deployments/{name}/traffic"): Route(
        (A.DEPLOYMENT_READ,), get(DEP + "/traffic")
    ),
    ("GET", "/api/v1/projects/{project}/deployments/{name}/segments/{segment_id}/file"): Route(
        (A.DEPLOYMENT_READ,), get(DEP + "/segments/{segment}/file")
    ),
    ("POST", "/api/v1/projects/{project}/deployments/{name}/feedback"): Route(
        (A.FEEDBACK_SUBMIT,),
        lambda w, c, _: c.post(
            _v(w, DEP + "/feedback"), json={"prediction_id": f"p-{w.counter()}", "label": 1}
        ),
    ),
    ("GET", "/api/v1/projects/{project}/deployments/{name}/feedback"): Route(
        (A.FEEDBACK_READ,), get(DEP + "/feedback")
    ),
    ("POST", "/api/v1/projects/{project}/deployments/{name}/feedback/batch"): Route(
        (A.FEEDBACK_SUBMIT,),
        lambda w, c, _: c.post(
            _v(w, DEP + "/feedback/batch"),
            json={"items": [{"prediction_id": f"p-{w.counter()}", "label": 1}]},
        ),
    ),
    ("POST", "/api/v1/projects/{project}/deployments/{name}/feedback/search"): Route(
        (A.FEEDBACK_READ,), post(DEP + "/feedback/search", {"prediction_ids": ["p-1"]})
    ),
    # monitors
    ("GET", "/api/v1/projects/{project}/monitors"): Route((A.MONITOR_READ,), get(MONS)),
    ("POST", "/api/v1/projects/{project}/monitors"): Route(
        (A.MONITOR_MANAGE,),
        lambda w, c, _: c.post(
            _v(w, MONS), json={"deployment": "churn-api", "name": f"m-{w.counter()}"}
        ),
    ),
    ("GET", "/api/v1/projects/{project}/monitors/{name}"): Route((A.MONITOR_READ,), get(MON)),
    ("POST", "/api/v1/projects/{project}/monitors/{name}/pause"): Route(
        (A.MONITOR_MANAGE,), on_fresh_monitor("/pause")
    ),
    ("POST", "/api/v1/projects/{project}/monitors/{name}/resume"): Route(
        (A.MONITOR_MANAGE,), on_fresh_monitor("/resume", paused=True)
    ),
    ("POST", "/api/v1/projects/{project}/monitors/{name}/archive"): Route(
        (A.MONITOR_MANAGE,), on_fresh_monitor("/archive")
    ),
    ("GET", "/api/v1/projects/{project}/monitors/{name}/windows"): Route(
        (A.MONITOR_READ,), get(MON + "/windows")
    ),
    ("GET", "/api/v1/projects/{project}/monitors/{name}/rollups"): Route(
        (A.MONITOR_READ,), get(MON + "/rollups")
    ),
    ("GET", "/api/v1/projects/{project}/monitors/{name}/report"): Route(
        (A.MONITOR_READ,), get(MON + "/report")
    ),
    ("POST", "/api/v1/projects/{project}/monitors/{name}/process"): Route(
        (A.MONITOR_MANAGE,), post(MON + "/process")
    ),
    ("POST", "/api/v1/projects/{project}/monitors/{name}/endpoint"): Route(
        (A.MONITOR_MANAGE,), post(MON + "/endpoint", {"endpoint": "http://127.0.0.1:8600"})
    ),
    ("POST", "/api/v1/projects/{project}/monitors/{name}/checks"): Route(
        (A.MONITOR_MANAGE,), post(MON + "/checks", {"kind": "replay", "passed": True})
    ),
    ("GET", "/api/v1/projects/{project}/monitors/{name}/checks"): Route(
        (A.MONITOR_READ,), get(MON + "/checks")
    ),
    ("GET", "/api/v1/projects/{project}/alerts"): Route(
        (A.MONITOR_READ,), get("/projects/{P}/alerts")
    ),
    ("GET", "/api/v1/projects/{project}/alerts/{alert_id}"): Route(
        (A.MONITOR_READ,), get("/projects/{P}/alerts/{alert}")
    ),
    ("POST", "/api/v1/projects/{project}/alerts/{alert_id}/ack"): Route(
        (A.ALERT_ACK,), on_fresh_alert("/ack", {"note": "on it"})
    ),
    ("POST", "/api/v1/projects/{project}/alerts/{alert_id}/comments"): Route(
        (A.ALERT_ACK,), post("/projects/{P}/alerts/{alert}/comments", {"text": "seen"})
    ),
    ("POST", "/api/v1/projects/{project}/alerts/{alert_id}/resolve"): Route(
        (A.ALERT_ACK,), on_fresh_alert("/resolve", {"reason": "checked"})
    ),
    # roles
    ("GET", "/api/v1/roles"): Route((A.ROLE_READ,), get("/roles", project=P)),
    ("GET", "/api/v1/roles/{name}"): Route((A.ROLE_READ,), get("/roles/risk_officer", project=P)),
    # loops
    ("GET", "/api/v1/projects/{project}/loops"): Route((A.LOOP_READ,), get(LOOPS)),
    ("POST", "/api/v1/projects/{project}/loops"): Route(  # requests and traffic in their name
        (A.LOOP_MANAGE, A.PROMOTION_REQUEST, A.DEPLOYMENT_CREATE), attach_loop
    ),
    ("GET", "/api/v1/projects/{project}/loops/{name}"): Route(
        (A.LOOP_READ,), get(LOOPS + "/{loop_name}")
    ),
    ("POST", "/api/v1/projects/{project}/loops/{name}/detach"): Route(
        (A.LOOP_MANAGE,),
        lambda w, c, _: c.post(
            f"{API}{LOOPS.format(P=P)}/{w.fresh_loop()}/detach", json={"reason": "matrix"}
        ),
    ),
    ("POST", "/api/v1/projects/{project}/loops/{name}/runs"): Route(
        (A.LOOP_RUN,),
        lambda w, c, _: c.post(
            f"{API}{LOOPS.format(P=P)}/{w.fresh_loop()}/runs", json={"reason": "matrix"}
        ),
    ),
    ("POST", "/api/v1/projects/{project}/loop-alerts"): Route(
        (A.LOOP_RUN,),
        post(
            "/projects/{P}/loop-alerts",
            {"deployment": "loop-api", "kind": "model_shift", "alert": "x", "summary": "s"},
        ),
    ),
    ("GET", "/api/v1/projects/{project}/loop-runs"): Route(
        (A.LOOP_READ,), get("/projects/{P}/loop-runs")
    ),
    ("POST", "/api/v1/projects/{project}/loop-runs/advance"): Route(
        (A.LOOP_RUN,), post("/projects/{P}/loop-runs/advance")
    ),
    ("GET", "/api/v1/loop-runs/{run_id}"): Route((A.LOOP_READ,), get("/loop-runs/{loop_run}")),
    ("POST", "/api/v1/loop-runs/{run_id}/stop"): Route(
        (A.LOOP_STOP,),
        lambda w, c, _: c.post(
            f"{API}/loop-runs/{w.fresh_loop_run()}/stop", json={"reason": "matrix"}
        ),
    ),
    ("POST", "/api/v1/loop-runs/{run_id}/decide"): Route(  # no evidence yet: it waits
        (A.LOOP_RUN,), post("/loop-runs/{loop_run}/decide", {"evidence": None})
    ),
    ("GET", "/api/v1/role-documents"): Route((A.ROLE_READ,), get("/role-documents", project=P)),
    ("POST", "/api/v1/role-documents"): Route(  # the same document again: a new version
        (A.ROLE_MANAGE,), post("/role-documents", {"text": PROJECT_ROLES, "project": P})
    ),
}


def expected(route: Route, w: World, name: str) -> bool:
    """Whether the identity `name` may make this call, from P's role table and the route's
    rule."""
    ident = w.identities[name]
    if route.rule is Rule.PUBLIC:
        return True
    if not ident.valid:
        return False
    if route.rule is Rule.SIGNED_IN:
        return True
    if route.rule in (Rule.PLATFORM, Rule.SELF_OR_PLATFORM):
        return ident.platform_admin  # the routes name another user than the caller
    roles = ident.roles_in_p  # the platform admin holds admin in every project
    if not all(TABLE.allows(roles, a) for a in route.actions):
        return False
    if route.rule in (Rule.RUN_OWNER, Rule.REQUESTER):
        return name == OWNER or Role.ADMIN in roles
    if route.rule is Rule.APPROVERS:
        return not roles.isdisjoint(APPROVERS) and name != OWNER
    return True


def table_allows(route: Route, w: World, name: str) -> bool:
    roles = w.identities[name].roles_in_p
    return all(TABLE.allows(roles, a) for a in route.actions)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    home = tmp_path_factory.mktemp(f"authz-{request.param}")
    if request.param == "sqlite":
        with running_server(home) as info:
            yield from build_world(info, home)
        return
    # a database of its own: its audit trail is MACed with this server's key only
    base = request.getfixturevalue("pg_database")
    with (
        _scratch_database(base, "relay_authz") as url,
        running_server(home, database_url=url) as info,
    ):
        yield from build_world(info, home)


def test_every_route_is_classified(world: World) -> None:
    spec = world.admin.get("/openapi.json").json()
    served = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert not served - set(ROUTES), f"classify these in ROUTES: {sorted(served - set(ROUTES))}"
    assert not set(ROUTES) - served, f"gone from the app: {sorted(set(ROUTES) - served)}"


def test_the_matrix(world: World) -> None:
    wrong: list[str] = []
    succeeded: dict[tuple[str, str], int] = {}
    for key, route in ROUTES.items():
        for name, ident in world.identities.items():
            r = route.call(world, ident.client, name)
            allowed = expected(route, world, name)
            code = r.status_code
            where = f"{key[0]} {key[1]} as {name}: {code}"
            if code >= 500:
                wrong.append(f"{where} (server error) {r.text[:200]}")
            elif allowed and code in (401, 403):
                wrong.append(f"{where} (allowed by {route.rule.value}) {r.text[:200]}")
            elif not allowed and code != (403 if ident.valid else 401):
                wrong.append(f"{where} (expected {403 if ident.valid else 401}) {r.text[:200]}")
            elif not allowed:
                message = str(error_of(r)["message"])
                by_rule = route.rule in RULE_SAYS and table_allows(route, world, name)
                if by_rule and RULE_SAYS[route.rule] not in message:
                    wrong.append(f"{where} denied without naming the rule: {message}")
            elif code < 300:
                succeeded[key] = succeeded.get(key, 0) + 1
    assert not wrong, "\n".join(wrong)
    # the parameters name real entities: every route succeeds for someone
    assert set(succeeded) == set(ROUTES), sorted(set(ROUTES) - set(succeeded))


def test_separation_of_duties_and_protected_aliases(world: World) -> None:
    """The rules the matrix's identities cannot reach alone: a user holding both
    data_scientist and the custom risk_officer may approve, but not a request they opened, nor
    one for a version trained by a run of theirs; and a protected alias never moves directly."""
    made = world.ok(
        world.admin.post(
            f"{API}/users",
            json={"name": "both", "roles": ["data_scientist", "risk_officer"], "project": P},
        )
    )
    with httpx.Client(
        base_url=world.server.url, headers={"Authorization": f"Bearer {made['token']}"}
    ) as both:
        run_id = world.ok(both.post(f"{API}/projects/{P}/runs", json={"experiment": "sod"}))["id"]
        body = {**world.ids["model_body"], "run_id": run_id}
        world.ok(both.post(f"{API}/projects/{P}/models/sod/versions", json=body))
        promote = {"alias": "production"}
        theirs = world.as_(OWNER).post(
            f"{API}/projects/{P}/models/sod/versions/1/promotions", json=promote
        )
        r = both.post(f"{API}/requests/{world.ok(theirs)['id']}/approve", json={})
        assert r.status_code == 403 and "separation of duties" in r.text and run_id in r.text
        own = both.post(f"{API}/projects/{P}/models/churn/versions/2/promotions", json=promote)
        r = both.post(f"{API}/requests/{world.ok(own)['id']}/approve", json={})
        assert r.status_code == 403 and "separation of duties" in r.text and "opened" in r.text
        gov = world.as_("in:model_governance")  # the table lets it; P's policy names another
        r = gov.post(f"{API}/requests/{world.ok(theirs)['id']}/approve", json={})
        assert r.status_code == 403 and "risk_officer" in str(error_of(r)["message"])
        risk = world.as_("in:risk_officer")
        assert risk.get(f"{API}/projects/{P}/datasets").status_code == 403  # reads no data
        done = risk.post(f"{API}/requests/{world.ok(theirs)['id']}/approve", json={})
        assert world.ok(done)["state"] == "applied"
    r = world.admin.put(
        f"{API}/projects/{P}/models/churn/aliases/production", json={"version": "2"}
    )
    assert r.status_code == 403 and "protected" in str(error_of(r)["message"])
