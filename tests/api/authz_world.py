"""A project full of real entities and 25 identities around it, on a live `relay server`: what
the REST authorization matrix (test_authz_matrix.py) calls every route with.

Roles: the built-in ones, with the installation's document adding a custom role
(`risk_officer`: approves promotions, reads no data) and the project's narrowing one built-in
role (`data_scientist`) and widening another (`stakeholder`); TABLE is what each may do there.

Identities: each of the 9 roles held in the project (`in:ROLE`), the same role held only in
another project (`out:ROLE`), the platform admin (`platform`), a user whose every grant was
removed (`no-role`), a revoked token, an expired token, a deactivated user (each of those three
held admin in the project, and the first two and the last were used before they stopped
working, so a cached identity is tested too), a token nobody issued (`unknown`), and no token
(`anonymous`).
"""

from __future__ import annotations

import functools
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from relayml.client.http import HttpBackend
from relayml.domain.identity import Role
from relayml.domain.roles import (
    DEFAULT_TABLE,
    INSTALLATION,
    PROJECT,
    RoleTable,
    apply_document,
    parse_roles,
)
from relayml.testing.server import ServerInfo

API = "/api/v1"
P = "authz"  # the project every route points at
Q = "elsewhere"  # the project the `out:` identities hold their role in
OWNER = f"in:{Role.DATA_SCIENTIST.value}"
"""Owns the project's runs, trained its model versions and opens its promotion requests."""

INSTALLATION_ROLES = """\
roles:
  risk_officer:
    description: approves promotions on risk grounds; reads no raw data
    actions: [project.read, role.read, model.read, request.read, request.update,
              promotion.approve, compliance.report, audit.read]
"""
PROJECT_ROLES = """\
roles:
  data_scientist:
    remove: [model.card.edit, run.delete]
  stakeholder:
    add: [model.evaluate, webhook.read]
"""
TABLE: RoleTable = apply_document(
    apply_document(DEFAULT_TABLE, parse_roles(INSTALLATION_ROLES), INSTALLATION, 1),
    parse_roles(PROJECT_ROLES),
    PROJECT,
    1,
)
"""What each role may do in P."""
ROLES = TABLE.names()

POLICY = """\
separation_of_duties: true
protected:
  production:
    approvals: 1
    approvers: [risk_officer]
    evidence: [load_check]
  champion:                        # what the loops' deployment follows
    approvals: 1
    approvers: [risk_officer]
    evidence: [load_check]
"""
APPROVERS = frozenset({"risk_officer"})
"""The roles POLICY lets approve or reject a move of `production`."""


@dataclass
class Identity:
    name: str
    client: httpx.Client
    roles_in_p: frozenset[str] = frozenset()
    valid: bool = True  # the token authenticates
    platform_admin: bool = False
    user: str = ""


@dataclass
class World:
    server: ServerInfo
    admin: httpx.Client  # the platform admin
    identities: dict[str, Identity] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)

    def counter(self) -> int:
        self.ids["n"] = n = int(self.ids.get("n", 0)) + 1
        return n

    def as_(self, name: str) -> httpx.Client:
        return self.identities[name].client

    def ok(self, response: httpx.Response) -> Any:
        assert response.status_code < 300, (response.request.url, response.text)
        return response.json() if response.content else None

    # fresh entities, for calls that use one up --------------------------------------------
    def fresh_run(self) -> str:
        """A running run owned by OWNER."""
        r = self.as_(OWNER).post(f"{API}/projects/{P}/runs", json={"experiment": "authz"})
        run_id: str = self.ok(r)["id"]
        return run_id

    def fresh_request(self, version: int = 2) -> str:
        """An open request, by OWNER, to move `production` to churn@version."""
        url = f"{API}/projects/{P}/models/churn/versions/{version}/promotions"
        r = self.as_(OWNER).post(url, json={"alias": "production", "note": "matrix"})
        request_id: str = self.ok(r)["id"]
        return request_id

    def fresh_pipeline_run(self) -> str:
        r = self.admin.post(
            f"{API}/projects/{P}/pipelines/nightly/runs", json={"steps": [{"name": "a"}]}
        )
        run_id: str = self.ok(r)["id"]
        return run_id

    def fresh_webhook(self) -> str:
        r = self.admin.post(f"{API}/projects/{P}/webhooks", json={"url": LOOPBACK_HOOK})
        hook_id: str = self.ok(r)["webhook"]["id"]
        return hook_id

    def fresh_deployment(self) -> str:
        """A deployment pinned to churn@1 with a canary (churn@2 at 10 %), made by the admin:
        what promote-canary, rollback and archive change."""
        name = f"dep-{self.counter()}"
        body = {"name": name, "target": "churn@1",
                "traffic": {"canary": "churn@2", "canary_percent": 10}}  # fmt: skip
        self.ok(self.admin.post(f"{API}/projects/{P}/deployments", json=body))
        return name

    def fresh_loop(self) -> str:
        """A loop attached by the admin to loop-api (which follows churn@champion)."""
        name = f"loop-{self.counter()}"
        body = {"name": name, "pipeline": "retrain", "deployment": "loop-api"}
        self.ok(self.admin.post(f"{API}/projects/{P}/loops", json=body))
        return name

    def fresh_loop_run(self) -> str:
        """A run, started by the admin, of a fresh loop (one run at a time per loop)."""
        url = f"{API}/projects/{P}/loops/{self.fresh_loop()}/runs"
        run_id: str = self.ok(self.admin.post(url, json={"reason": "matrix"}))["id"]
        return run_id

    def fresh_monitor(self, paused: bool = False) -> str:
        """A monitor on churn-api made by the admin (what pause, resume and archive change)."""
        name = f"mon-{self.counter()}"
        body = {"deployment": "churn-api", "name": name}
        self.ok(self.admin.post(f"{API}/projects/{P}/monitors", json=body))
        if paused:
            self.ok(self.admin.post(f"{API}/projects/{P}/monitors/{name}/pause", json={}))
        return name

    def fresh_alert(self) -> str:
        """A live alert of the churn-api monitor: a passed digest check resolves the one
        there is, a failed one opens another."""
        url = f"{API}/projects/{P}/monitors/churn-api/checks"
        self.ok(self.admin.post(url, json={"kind": "digest", "passed": True}))
        self.ok(self.admin.post(url, json={"kind": "digest", "passed": False}))
        found = self.ok(self.admin.get(f"{API}/projects/{P}/alerts"))
        alert_id: str = found[0]["id"]
        return alert_id

    def fresh_victim_token(self) -> str:
        token_id: str = self.ok(self.admin.post(f"{API}/users/victim/tokens", json={}))["token_id"]
        return token_id

    def close(self) -> None:
        for ident in self.identities.values():
            ident.client.close()
        self.admin.close()


LOOPBACK_HOOK = "http://127.0.0.1:9/relay-hook"
"""A webhook that is never kept: the discard port on loopback refuses at once."""


def _client(url: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=60)


@functools.cache
def _model(seed: int) -> tuple[bytes, dict[str, Any], dict[str, Any], bytes]:
    """A small skops model's bytes, environment, signature and golden set (made once for both
    databases)."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from relayml.flavors.formats import load_model, save_model
    from relayml.flavors.golden import build_golden

    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=120), "x2": rng.normal(size=120)})
    y = (X["x1"] + X["x2"] > 0).astype(int)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "churn.skops"
        saved = save_model(LogisticRegression().fit(X, y), path, input_example=X[:5])
        assert saved.signature is not None
        loaded = load_model(saved.data, flavor=saved.flavor, digest=saved.digest,
                            signature=saved.signature)  # fmt: skip
        golden = build_golden(loaded, input_example=X[:5])
        return path.read_bytes(), saved.environment.to_dict(), saved.signature.to_dict(), golden


def _holdout(tmp: Path, seed: int = 1) -> Path:
    import numpy as np
    import pandas as pd

    from relayml.tables.parquet import write_normalized

    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=80), rng.normal(size=80)
    df = pd.DataFrame({"x1": x1, "x2": x2, "label": (x1 + x2 > 0).astype(int)})
    path = tmp / f"holdout-{seed}.parquet"
    write_normalized(df, path, None)
    return path


def build_world(server: ServerInfo, tmp: Path) -> Iterator[World]:
    w = World(server, _client(server.url, server.admin_token))
    try:
        _populate(w, tmp)
        yield w
    finally:
        w.close()


def _populate(w: World, tmp: Path) -> None:
    server, admin, ok = w.server, w.admin, w.ok
    for p in (P, Q):
        ok(admin.post(f"{API}/projects", json={"name": p}))
    ok(admin.post(f"{API}/role-documents", json={"text": INSTALLATION_ROLES}))

    def user(name: str, role: Role | str, project: str, expires: str | None = None) -> Any:
        body = {"name": name, "roles": [str(role)], "project": project, "expires": expires}
        return ok(admin.post(f"{API}/users", json=body))

    for role in ROLES:
        made = user(f"in-{role}", role, P)
        w.identities[f"in:{role}"] = Identity(
            f"in:{role}", _client(server.url, made["token"]), frozenset({role}),
            user=made["user"],
        )  # fmt: skip
        made = user(f"out-{role}", role, Q)
        w.identities[f"out:{role}"] = Identity(
            f"out:{role}", _client(server.url, made["token"]), user=made["user"]
        )
    w.identities["platform"] = Identity(
        "platform", _client(server.url, server.admin_token), frozenset({Role.ADMIN}),
        platform_admin=True, user=server.admin_user,
    )  # fmt: skip
    user("victim", Role.STAKEHOLDER, P)  # whose tokens, grants and activation routes change

    # identities that must not authenticate
    gone = user("no-role", Role.STAKEHOLDER, Q)
    revoked = user("revoked", Role.ADMIN, P)
    expired = user("expired", Role.ADMIN, P, expires="1s")
    deactivated = user("deactivated", Role.ADMIN, P)
    expired_at = time.monotonic() + 1.0
    for made in (gone, revoked, deactivated):  # each is seen (and cached) while it still works
        with _client(server.url, made["token"]) as c:
            assert c.get(f"{API}/whoami").status_code == 200
    assert admin.delete(f"{API}/users/no-role/grants/stakeholder", params={"project": Q}).is_success
    ok(admin.delete(f"{API}/tokens/{revoked['token_id']}"))
    ok(admin.post(f"{API}/users/deactivated/deactivate"))
    for name, made in (
        ("no-role", gone), ("revoked", revoked), ("expired", expired),
        ("deactivated", deactivated), ("unknown", {"token": "relay-" + uuid.uuid4().hex}),
        ("anonymous", {"token": None}),
    ):  # fmt: skip
        w.identities[name] = Identity(name, _client(server.url, made["token"]), valid=False)

    # the project's entities
    owner = HttpBackend(server.url, _token(w, OWNER))
    platform = HttpBackend(server.url, server.admin_token)
    try:
        holdout = _holdout(tmp)
        platform.datasets.publish(P, "holdout", holdout)
        w.ids["parquet"] = ok(
            admin.put(f"{API}/projects/{P}/datasets/uploads", content=holdout.read_bytes())
        )["blob"]
        other = _holdout(tmp, seed=2).read_bytes()
        blob = ok(admin.put(f"{API}/projects/{P}/datasets/uploads", content=other))["blob"]
        quarantined = {"blob": blob, "contract": "columns:\n  x1:\n    min: 100\n"}
        v2 = ok(admin.post(f"{API}/projects/{P}/datasets/holdout/versions", json=quarantined))
        assert (v2["version"], v2["status"]) == (2, "quarantined"), v2
        run = owner.tracking.create_run(project=P, experiment="authz")
        ok(w.as_(OWNER).post(f"{API}/runs/{run.id}/batch", json={"metrics": [["loss", 0.5, 0, 0]]}))
        owner.datasets.use(run.id, "holdout@1")
        w.ids["run"] = run.id
        art = tmp / "a.txt"
        art.write_text("artifact")
        owner.artifacts.log_artifact(run.id, "a.txt", art)
        for seed in range(3):  # 1 is approved in the matrix, 2 is requested, 3 gets archived
            content, env, sig, golden_bytes = _model(seed)
            model = tmp / f"churn-{seed}.skops"
            model.write_bytes(content)
            golden = tmp / f"churn-{seed}.golden.parquet"
            golden.write_bytes(golden_bytes)
            mv = owner.models.register(
                P, "churn", model, flavor="sklearn", environment=env, signature=sig,
                run_id=run.id, golden_file=golden,
            )  # fmt: skip
        w.ids["model_body"] = {"blob": mv.digest, "flavor": "sklearn", "environment": env,
                               "signature": sig}  # fmt: skip
        w.ids["model_bytes"] = model.read_bytes()
        platform.deployments.create(P, "churn-api", "churn@1")
        segment = tmp / "segment.parquet"
        segment.write_bytes(b"PAR1 a prediction-log segment")
        seg = platform.deployments.record_segment(
            P, "churn-api", segment, uri=f"serving/{P}/churn-api/s-0.parquet", records=1,
            first_at=datetime(2025, 1, 1, tzinfo=UTC), last_at=datetime(2025, 1, 1, tzinfo=UTC),
            server_id="s",
        )  # fmt: skip
        w.ids["segment"], w.ids["segment_blob"] = seg.id, seg.digest
        w.ids["segment_bytes"] = segment.read_bytes()
        platform.monitors.create(P, "churn-api", target="label")
    finally:
        owner.close()
        platform.close()
    ok(admin.put(f"{API}/projects/{P}/policy", json={"text": POLICY}))
    ok(admin.post(f"{API}/role-documents", json={"text": PROJECT_ROLES, "project": P}))
    w.ids["request"] = w.fresh_request()  # stays open: only denied calls touch it
    w.ids["alert"] = w.fresh_alert()
    ok(admin.put(f"{API}/projects/{P}/pipelines/nightly",
                 json={"module": "etl:nightly", "steps": [{"name": "a"}]}))  # fmt: skip
    daily = {"module": "etl:daily", "schedule": "0 3 * * *", "steps": [{"name": "a"}]}
    ok(admin.put(f"{API}/projects/{P}/pipelines/daily", json=daily))  # paused and resumed
    prun = ok(
        admin.post(f"{API}/projects/{P}/pipelines/nightly/runs", json={"steps": [{"name": "a"}]})
    )["id"]
    w.ids["pipeline_run"] = prun
    blob = ok(admin.put(f"{API}/pipeline-runs/{prun}/blobs", content=b"step output"))["digest"]
    w.ids["blob"] = blob
    step = {"status": "finished", "cache_key": blob,
            "output": {"kind": "file", "digest": blob, "size": 11}}  # fmt: skip
    ok(admin.put(f"{API}/pipeline-runs/{prun}/steps/a", json=step))
    w.ids["cache_key"] = blob
    _loops(w)
    time.sleep(max(0.0, expired_at - time.monotonic()))


def _loops(w: World) -> None:
    """churn@1 holds champion, loop-api follows it, and one loop run has its canary live
    (churn@2, after its held request was approved): what `decide` acts on."""
    admin, ok, risk = w.admin, w.ok, w.as_("in:risk_officer")
    url = f"{API}/projects/{P}/models/churn/versions/1/promotions"
    champion = ok(w.as_(OWNER).post(url, json={"alias": "champion"}))["id"]
    ok(risk.post(f"{API}/requests/{champion}/approve", json={}))
    body = {"name": "loop-api", "target": "churn@champion"}
    ok(admin.post(f"{API}/projects/{P}/deployments", json=body))
    steps = [{"name": "register"}]
    ok(admin.put(f"{API}/projects/{P}/pipelines/retrain", json={"module": "jobs:retrain",
                                                               "steps": steps}))  # fmt: skip
    run_id = w.fresh_loop_run()
    start = {"steps": steps, "trigger": "loop", "loop_run": run_id}
    prun = ok(admin.post(f"{API}/projects/{P}/pipelines/retrain/runs", json=start))["id"]
    out = {"kind": "value", "digest": "0" * 64, "value": "churn@2"}
    ok(admin.put(f"{API}/pipeline-runs/{prun}/steps/register",
                 json={"status": "finished", "output": out}))  # fmt: skip
    ok(admin.post(f"{API}/pipeline-runs/{prun}/finish", json={"status": "finished"}))
    ok(admin.post(f"{API}/projects/{P}/loop-runs/advance", json={}))
    request = ok(admin.get(f"{API}/loop-runs/{run_id}"))["request"]
    ok(risk.post(f"{API}/requests/{request}/approve", json={}))
    (run,) = ok(admin.post(f"{API}/projects/{P}/loop-runs/advance", json={}))
    assert run["state"] == "canary", run
    w.ids["loop_run"] = run_id
    w.ids["loop_name"] = run["loop"]


def _token(w: World, name: str) -> str:
    header = w.as_(name).headers["Authorization"]
    return header.removeprefix("Bearer ")
