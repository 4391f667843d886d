"""`relay serve` as a real process on 127.0.0.1, over real HTTP, on an embedded store: the alias
moving under concurrent load, every kind of bad input, the canary split, the shadow, the
prediction log after SIGTERM under load, the dropped-record counter, feedback and /metrics."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from relayml.client.base import Backend
from relayml.client.connect import open_backend
from relayml.domain.identity import DEFAULT_PROJECT
from relayml.flavors import save_model
from relayml.testing.server import free_port
from tests.conftest import settings_for

P = DEFAULT_PROJECT
STARTUP = 120.0


@dataclass
class World:
    home: Path
    backend: Backend
    models: dict[int, Any]  # version -> the fitted pipeline it holds
    rows: list[dict[str, float]]
    stakeholder_token: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("serving") / ".relay"
    backend = open_backend(settings_for(home))
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    x.columns = [c.replace(" ", "_") for c in x.columns]
    models = {}
    for version, c in ((1, 1.0), (2, 0.001)):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000)).fit(x, y)
        path = home.parent / f"v{version}.skops"
        saved = save_model(model, path, input_example=x[:5])
        assert saved.signature is not None
        mv = backend.models.register(
            P, "bc", path, flavor=saved.flavor.value, environment=saved.environment.to_dict(),
            signature=saved.signature.to_dict(),
        )  # fmt: skip
        assert mv.version == version
        models[version] = model
    backend.models.set_alias(P, "bc@1", "staging", "first")
    backend.deployments.create(P, "bc-api", "bc@staging")
    backend.deployments.create(P, "bc-old", "bc@1")
    token = backend.identity.create_user("sam", ["stakeholder"], P).token
    rows = [{k: float(v) for k, v in r.items()} for r in x.iloc[:200].to_dict(orient="records")]
    try:
        yield World(home, backend, models, rows, token)
    finally:
        backend.close()


@contextmanager
def serving(
    world: World | Path, *args: str, name: str = "bc-api", env: dict[str, str] | None = None
) -> Iterator[tuple[str, Any]]:
    """`relay serve NAME` in its own process (on `world`'s store, or with `home` as RELAY_HOME
    and `env` naming a server); yields its URL and the process (stopped with SIGTERM at the end
    if still running)."""
    port = free_port()
    home = world.home if isinstance(world, World) else world
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(RELAY_HOME=str(home), RELAY_USER="admin", **extra)
    home.parent.mkdir(parents=True, exist_ok=True)
    log = home.parent / f"serve-{port}.log"
    cmd = [sys.executable, "-m", "relayml.cli.app", "serve", name, "--port", str(port),
           "--poll", "0.2", "--segment-seconds", "0.5", *args]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP
        while True:
            assert proc.poll() is None, f"relay serve exited:\n{log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"not ready:\n{log.read_text()[-3000:]}"
            time.sleep(0.1)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def stop(proc: Any) -> int:
    proc.send_signal(signal.SIGTERM)
    return int(proc.wait(60))


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[str]:
    with serving(world) as (url, _):
        yield url


def wait_for(url: str, what: Any, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        doc: dict[str, Any] = httpx.get(f"{url}/deployments/bc-api").json()
        if what(doc):
            return doc
        assert time.monotonic() < deadline, f"the server still serves {doc}"
        time.sleep(0.1)


def arms(doc: dict[str, Any]) -> dict[str, int]:
    return {a["arm"]: a["version"] for a in doc["arms"]}


def check_answer(world: World, row: dict[str, float], response: httpx.Response) -> int:
    """The answer is what the version it names gives for the row; returns that version."""
    assert response.status_code == 200, response.text
    body = response.json()
    version = body["version"]
    assert response.headers["relay-model-version"] == str(version)
    assert response.headers["relay-model-digest"] == body["digest"]
    expected = world.models[version].predict_proba(pd.DataFrame([row]))[0]
    np.testing.assert_allclose(body["probabilities"][0], expected, rtol=1e-9)
    assert body["predictions"] == [int(np.argmax(expected))]
    assert len(body["prediction_ids"]) == 1
    return int(version)


Answers = list[tuple[dict[str, float], httpx.Response]]


def load(
    url: str, rows: list[dict[str, float]], threads: int, until: threading.Event
) -> tuple[Answers, list[str]]:
    """`threads` clients sending rows until `until` is set; (row, response) pairs and errors."""
    done: list[tuple[dict[str, float], httpx.Response]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(k: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            i = k
            while not until.is_set():
                row = rows[i % len(rows)]
                i += threads
                try:
                    r = http.post("/predict", json=row)
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(repr(exc))
                    continue
                with lock:
                    done.append((row, r))

    workers = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    return done, errors  # filled while running; join through `until` and the threads


@contextmanager
def under_load(url: str, rows: list[dict[str, float]], threads: int = 6) -> Iterator[Any]:
    until = threading.Event()
    before = set(threading.enumerate())
    done, errors = load(url, rows, threads, until)
    try:
        yield done, errors
    finally:
        until.set()
        for t in set(threading.enumerate()) - before:
            t.join(60)


# --- the tests ---------------------------------------------------------------------------------


def test_alias_moves_under_load_with_no_failed_request(world: World, server: str) -> None:
    b = world.backend
    seen: Counter[int] = Counter()
    with under_load(server, world.rows) as (done, errors):
        for target in (2, 1, 2):
            time.sleep(0.5)
            b.models.set_alias(P, f"bc@{target}", "staging", "move under load")
            wait_for(server, lambda d, t=target: arms(d).get("primary") == t)
        time.sleep(0.5)
    assert errors == []
    assert len(done) > 50
    for row, response in done:
        seen[check_answer(world, row, response)] += 1
    assert set(seen) == {1, 2}, seen
    b.models.set_alias(P, "bc@1", "staging", "back")
    wait_for(server, lambda d: arms(d).get("primary") == 1)


def test_every_kind_of_bad_input_is_a_named_422(world: World, server: str) -> None:
    row = world.rows[0]
    first = next(iter(row))

    def post(content: bytes, ctype: str = "application/json") -> dict[str, Any]:
        r = httpx.post(f"{server}/predict", content=content, headers={"content-type": ctype})
        body = r.json()
        return {"status": r.status_code, **body["error"]["details"], "message": body["error"]}

    missing = dict(row)
    del missing[first]
    cases = {
        "missing": (orjson.dumps(missing), first),
        "extra": (orjson.dumps({**row, "colour": 1.0}), "colour"),
        "type": (orjson.dumps({**row, first: "big"}), first),
        "null": (orjson.dumps({**row, first: None}), first),
        "json": (b'{"mean_radius": 1,', None),
        "shape": (b"[1, 2]", None),
        "empty": (b'{"records": []}', None),
    }
    for problem, (content, column) in cases.items():
        found = post(content)
        assert found["status"] == 422 and found["problem"] == problem, found
        assert found.get("column") == column, found
    assert post(b"a,b\n1,2\n", "text/csv")["problem"] == "missing"
    assert post(b"age=1", "application/x-www-form-urlencoded")["status"] == 415
    too_large = b'{"records": [' + b" " * (17 * 1024 * 1024) + b"]}"
    big = httpx.post(f"{server}/predict", content=too_large,
                     headers={"content-type": "application/json"})  # fmt: skip
    assert big.status_code == 413 and big.json()["error"]["details"]["limit"] == 16 * 1024 * 1024
    # the server still answers
    check_answer(world, row, httpx.post(f"{server}/predict", json=row))


def test_batches_in_other_formats_answer_row_by_row(world: World, server: str) -> None:
    rows = world.rows[:5]
    names = list(rows[0])
    csv = ",".join(names) + "\n" + "\n".join(",".join(repr(r[n]) for n in names) for r in rows)
    by_csv = httpx.post(f"{server}/predict", content=csv.encode(),
                        headers={"content-type": "text/csv"}).json()  # fmt: skip
    answer = httpx.post(f"{server}/predict", json={"records": rows},
                        headers={"X-Request-Id": "order-7"})  # fmt: skip
    assert answer.headers["x-request-id"] == "order-7" and answer.json()["request_id"] == "order-7"
    by_records = answer.json()
    v2 = httpx.post(
        f"{server}/v2/models/bc-api/infer",
        json={"inputs": [{"name": n, "shape": [5], "datatype": "FP64",
                          "data": [r[n] for r in rows]} for n in names]},
    ).json()  # fmt: skip
    assert by_csv["predictions"] == by_records["predictions"] == v2["outputs"][0]["data"]
    assert len(set(by_csv["prediction_ids"])) == 5
    meta = httpx.get(f"{server}/v2/models/bc-api").json()
    assert [i["name"] for i in meta["inputs"]] == names
    assert httpx.get(f"{server}/v2/health/ready").json() == {"ready": True}


def test_canary_split_is_within_binomial_tolerance_and_sticky(world: World, server: str) -> None:
    b = world.backend
    b.deployments.set_traffic(P, "bc-api", canary="bc@2", canary_percent=30.0,
                              sticky_key="customer")  # fmt: skip
    try:
        wait_for(server, lambda d: arms(d).get("canary") == 2)
        n = 400
        roles: Counter[str] = Counter()
        with httpx.Client(base_url=server) as http:
            for i in range(n):
                r = http.post("/predict", json=world.rows[i % 200])
                roles[r.headers["relay-arm"]] += 1
                assert check_answer(world, world.rows[i % 200], r) == (
                    2 if r.headers["relay-arm"] == "canary" else 1
                )
            sigma = math.sqrt(n * 0.3 * 0.7)
            assert abs(roles["canary"] - 0.3 * n) < 4 * sigma, roles
            for key in ("c-1", "c-2", "c-3"):  # a key always gets the same arm
                got = {http.post("/predict", json={**world.rows[0], "customer": key})
                       .headers["relay-arm"] for _ in range(8)}  # fmt: skip
                by_header = {http.post("/predict", json=world.rows[0],
                                       headers={"customer": key}).headers["relay-arm"]
                             for _ in range(4)}  # fmt: skip
                assert len(got) == 1 and got == by_header
    finally:
        b.deployments.set_traffic(P, "bc-api")
        wait_for(server, lambda d: set(arms(d)) == {"primary"})


def test_metrics_parse_and_count_what_was_served(world: World, server: str) -> None:
    httpx.post(f"{server}/predict", json=world.rows[0])
    first = next(iter(world.rows[0]))  # a wrong type of its own: no other test's request counted
    wrong = httpx.post(f"{server}/predict", json={**world.rows[0], first: "big"})
    assert wrong.status_code == 422
    text = httpx.get(f"{server}/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    requests = families["relay_serving_requests"].samples
    assert any(s.labels["status"] == "200" and s.value > 0 for s in requests)
    assert any(
        s.labels.get("problem") == "type" for s in families["relay_serving_request_errors"].samples
    )
    info = families["relay_serving_model_info"].samples
    assert {(s.labels["arm"], s.labels["version"]) for s in info} == {("primary", "1")}
    assert families["relay_serving_request_seconds"].type == "histogram"
    assert "relay_serving_batch_rows" in families


def test_feedback_needs_a_token_and_joins_by_prediction_id(world: World, server: str) -> None:
    answer = httpx.post(f"{server}/predict", json=world.rows[3]).json()
    pid = answer["prediction_ids"][0]
    body = {"prediction_id": pid, "label": 1, "comment": "was right"}
    assert httpx.post(f"{server}/feedback", json=body).status_code == 401
    bad = httpx.post(f"{server}/feedback", json=body, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    ok = httpx.post(f"{server}/deployments/bc-api/feedback", json=body,
                    headers={"Authorization": f"Bearer {world.stakeholder_token}"})  # fmt: skip
    assert ok.status_code == 201, ok.text
    assert ok.json()["who"] == "sam" and ok.json()["prediction_id"] == pid
    assert len(ok.headers["x-request-id"]) == 32
    (fb,) = world.backend.deployments.list_feedback(P, "bc-api", prediction_ids=[pid])
    assert fb.label == 1 and fb.who == "sam"


def segment_rows(world: World, since: float) -> list[dict[str, Any]]:
    from datetime import UTC, datetime

    b = world.backend
    out: list[dict[str, Any]] = []
    start = datetime.fromtimestamp(since, UTC)
    for seg in b.deployments.list_segments(P, "bc-api", since=start):
        path = b.deployments.download_segment(P, "bc-api", seg.id, world.home.parent / seg.id)
        out.extend(pq.read_table(path).to_pylist())
    return [r for r in out if r["ts"].timestamp() >= since]


def test_log_has_one_row_per_answer_after_sigterm_under_load(world: World) -> None:
    since = time.time()
    with serving(world) as (url, proc), under_load(url, world.rows) as (done, _):
        time.sleep(2.0)
        code = stop(proc)  # in the middle of the load
    assert code == 0
    answered = {r.json()["prediction_ids"][0] for _, r in done if r.status_code == 200}
    assert len(answered) > 20
    logged = [r for r in segment_rows(world, since) if r["arm"] == "primary"]
    assert len(logged) == len({r["prediction_id"] for r in logged})  # once each
    assert {r["prediction_id"] for r in logged} == answered
    row = logged[0]
    assert row["version"] == 1 and row["deployment"] == "bc-api"
    answered_row = next(
        r for r in logged if r["prediction_id"] == done[0][1].json()["prediction_ids"][0]
    )
    assert answered_row["inputs"] == done[0][0]  # the row as sent, column by column


def test_shadow_answers_are_logged_never_returned(world: World) -> None:
    b = world.backend
    b.deployments.set_traffic(P, "bc-api", shadow="bc@2")
    since = time.time()
    try:
        with serving(world) as (url, proc):
            answers = [httpx.post(f"{url}/predict", json=r) for r in world.rows[:30]]
            assert stop(proc) == 0
    finally:
        b.deployments.set_traffic(P, "bc-api")
    assert all(r.headers["relay-arm"] == "primary" and r.json()["version"] == 1 for r in answers)
    ids = {r.json()["prediction_ids"][0] for r in answers}
    rows = segment_rows(world, since)
    shadow = {r["prediction_id"]: r for r in rows if r["arm"] == "shadow"}
    assert set(shadow) == ids
    row = world.rows[0]
    first = shadow[answers[0].json()["prediction_ids"][0]]
    assert first["version"] == 2
    expected = world.models[2].predict(pd.DataFrame([row]))[0]
    assert first["prediction"] == int(expected)
    assert first["inputs"] == row


def test_a_tiny_log_queue_drops_and_counts(world: World) -> None:
    since = time.time()
    with serving(world, "--log-queue", "1", "--segment-seconds", "30") as (url, proc):
        with under_load(url, world.rows, threads=8) as (done, _):
            time.sleep(1.5)
        text = httpx.get(f"{url}/metrics").text
        assert stop(proc) == 0
    answered = sum(1 for _, r in done if r.status_code == 200)
    samples = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name.startswith("relay_serving_log_records")}  # fmt: skip
    dropped = samples["relay_serving_log_records_dropped_total"]
    assert dropped > 0
    logged = len([r for r in segment_rows(world, since) if r["arm"] == "primary"])
    assert logged + dropped == answered  # every answer written or counted


def test_against_a_relay_server_with_a_token(tmp_path: Path) -> None:
    """The server reaches Relay over http as an ML engineer: it loads through the REST API,
    registers its log segments there, and submits feedback as the caller's token."""
    from relayml.client.http import HttpBackend
    from relayml.testing.server import running_server

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    x.columns = [c.replace(" ", "_") for c in x.columns]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)
    saved = save_model(model, tmp_path / "m.skops", input_example=x[:5])
    assert saved.signature is not None
    with running_server(tmp_path / "relay") as info:
        admin = HttpBackend(info.url, info.admin_token)
        try:
            admin.models.register(
                P, "bc", tmp_path / "m.skops", flavor=saved.flavor.value,
                environment=saved.environment.to_dict(), signature=saved.signature.to_dict(),
            )  # fmt: skip
            admin.models.set_alias(P, "bc@1", "staging", "first")
            admin.deployments.create(P, "bc-api", "bc@staging")
            engineer = admin.identity.create_user("eng", ["ml_engineer"], P).token
            sam = admin.identity.create_user("sam", ["stakeholder"], P).token
            env = {"RELAY_SERVER_URL": info.url, "RELAY_TOKEN": engineer}
            row = {k: float(v) for k, v in x.iloc[0].items()}
            with serving(tmp_path / "serve" / ".relay", env=env) as (url, proc):
                answer = httpx.post(f"{url}/predict", json=row).json()
                pid = answer["prediction_ids"][0]
                fb = httpx.post(f"{url}/feedback", json={"prediction_id": pid, "label": 0},
                                headers={"Authorization": f"Bearer {sam}"})  # fmt: skip
                assert fb.status_code == 201 and fb.json()["who"] == "sam"
                assert stop(proc) == 0
            assert answer["version"] == 1
            (seg,) = admin.deployments.list_segments(P, "bc-api")
            path = admin.deployments.download_segment(P, "bc-api", seg.id, tmp_path / "seg")
            logged = pq.read_table(path).to_pylist()
            assert [r["prediction_id"] for r in logged] == [pid]
            assert logged[0]["inputs"] == row
            (got,) = admin.deployments.list_feedback(P, "bc-api", prediction_ids=[pid])
            assert got.who == "sam" and got.label == 0
        finally:
            admin.close()


def test_a_deployment_that_does_not_exist_stops_relay_serve(world: World) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(RELAY_HOME=str(world.home), RELAY_USER="admin")
    done = subprocess.run(
        [sys.executable, "-m", "relayml.cli.app", "serve", "bc-api", "nope", "--port",
         str(free_port())],
        env=env, capture_output=True, text=True, timeout=STARTUP,
    )  # fmt: skip
    assert done.returncode == 5, done.stderr
    assert "nope" in done.stderr


def test_an_archived_deployment_stops_answering(world: World) -> None:
    with serving(world, name="bc-old") as (url, proc):
        assert httpx.post(f"{url}/predict", json=world.rows[0]).status_code == 200
        world.backend.deployments.archive(P, "bc-old", reason="replaced")
        deadline = time.monotonic() + 30
        while httpx.get(f"{url}/readyz").status_code == 200:
            assert time.monotonic() < deadline, "still ready after the archive"
            time.sleep(0.1)
        refused = httpx.post(f"{url}/predict", json=world.rows[0])
        assert refused.status_code == 503
        assert "archived" in refused.json()["error"]["message"]
        assert stop(proc) == 0


def test_two_workers_count_every_request_on_any_scrape_and_log_every_answer(world: World) -> None:
    since = time.time()
    with serving(world, "--workers", "2") as (url, proc):
        # a new connection each time, so the kernel spreads them over both workers
        ids = [
            httpx.post(f"{url}/predict", json=world.rows[i]).json()["prediction_ids"][0]
            for i in range(40)
        ]
        for _ in range(6):  # whichever worker answers the scrape counts all 40
            families = text_string_to_metric_families(httpx.get(f"{url}/metrics").text)
            total = sum(
                s.value for f in families if f.name == "relay_serving_requests"
                for s in f.samples if s.name.endswith("_total") and s.labels["status"] == "200"
            )  # fmt: skip
            assert total == 40
        assert stop(proc) == 0
    logged = {r["prediction_id"] for r in segment_rows(world, since) if r["arm"] == "primary"}
    assert logged == set(ids)


def test_several_deployments_share_one_server(world: World) -> None:
    world.backend.deployments.create(P, "bc-two", "bc@2")
    with serving(world, "bc-two") as (url, proc):
        lone = httpx.post(f"{url}/predict", json=world.rows[0])
        assert lone.status_code == 404
        assert "bc-api" in lone.text and "/deployments/{name}/predict" in lone.text
        for name, version in (("bc-api", 1), ("bc-two", 2)):
            r = httpx.post(f"{url}/deployments/{name}/predict", json=world.rows[0])
            assert check_answer(world, world.rows[0], r) == version
            assert r.headers["relay-deployment"] == name
        listed = httpx.get(f"{url}/deployments").json()["deployments"]
        assert {d["deployment"]: d["arms"][0]["version"] for d in listed} == {
            "bc-api": 1,
            "bc-two": 2,
        }
        assert stop(proc) == 0
