"""The model server's pieces on their own: the batcher, a loaded arm's predict call, the
prediction log's writer and the metrics page. (tests/serving/test_server.py drives them all
through a real server process.)"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from relayml.domain.deployments import ArmRole, ServedArm
from relayml.errors import Unprocessable
from relayml.flavors import (
    ColumnSpec,
    ColumnType,
    OutputKind,
    OutputSpec,
    Signature,
    dump_model,
    load_model,
)
from relayml.serving.arms import Runner
from relayml.serving.batcher import Arrivals, Batcher
from relayml.serving.inputs import Parsed, Schema
from relayml.serving.metrics import Metrics
from relayml.serving.predlog import SCHEMA_FIELDS, Entry, PredictionLog

# --- the batcher ------------------------------------------------------------------------------


def run_batches(
    items: list[Any], *, max_rows: int = 64, max_wait: float = 0.0, arrivals: Arrivals | None = None
) -> tuple[list[Any], list[list[Any]]]:
    calls: list[list[Any]] = []

    def run(batch: list[Any]) -> list[Any]:
        calls.append(list(batch))
        if "bad" in batch:
            raise ValueError("bad item")
        return [f"answer-{x}" for x in batch]

    async def main() -> list[Any]:
        b: Batcher[Any, Any] = Batcher(
            run, lambda _: 1, max_rows=max_rows, max_wait=max_wait, arrivals=arrivals or Arrivals()
        )
        b.start()
        out = await asyncio.wait_for(
            asyncio.gather(*(b.submit(x) for x in items), return_exceptions=True), 5.0
        )
        await b.close()
        return list(out)

    return asyncio.run(main()), calls


def test_concurrent_requests_share_one_call_and_the_batch_is_capped() -> None:
    results, calls = run_batches(list(range(10)), max_rows=4)
    assert results == [f"answer-{i}" for i in range(10)]
    assert [len(c) for c in calls] == [4, 4, 2]


def test_a_lone_request_does_not_wait_for_company() -> None:
    # max_wait of a minute: the request still answers at once (wait_for's 5 s would fail it)
    results, calls = run_batches([1], max_wait=60.0)
    assert results == ["answer-1"] and calls == [[1]]


def test_a_batch_waits_for_requests_still_arriving_up_to_its_cap() -> None:
    arrivals = Arrivals()
    calls: list[list[int]] = []

    def run(batch: list[int]) -> list[int]:
        calls.append(list(batch))
        return batch

    async def main() -> list[int]:
        b: Batcher[int, int] = Batcher(
            run, lambda _: 1, max_rows=8, max_wait=60.0, arrivals=arrivals
        )
        b.start()
        arrivals.count = 1  # a second request is being read
        first = asyncio.ensure_future(b.submit(1))
        await asyncio.sleep(0.05)
        assert not first.done()  # waiting for the one on its way
        arrivals.count = 0
        second = await asyncio.wait_for(b.submit(2), 5.0)
        await b.close()
        return [await first, second]

    assert asyncio.run(main()) == [1, 2]
    assert calls == [[1, 2]]


def test_a_failing_request_fails_alone() -> None:
    results, calls = run_batches([1, "bad", 3])
    assert results[0] == "answer-1" and results[2] == "answer-3"
    assert isinstance(results[1], ValueError)
    assert calls[0] == [1, "bad", 3]  # tried together first, then one by one


# --- a loaded arm ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data() -> Any:
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    x.columns = [c.replace(" ", "_") for c in x.columns]
    return x, y


def runner_for(model: Any, x: Any, *, array_input: bool = False) -> Runner:
    saved = dump_model(model, input_example=x[:5])
    loaded = load_model(
        saved.data, flavor=saved.flavor, digest=saved.digest, signature=saved.signature
    )
    arm = ServedArm(ArmRole.PRIMARY, "bc@1", "bc", 1, saved.digest, "sklearn", 100.0)
    runner = Runner(arm, loaded, None, array_input=array_input)
    runner.warm_up()
    return runner


def rows_of(x: Any, start: int, n: int) -> Parsed:
    return Parsed([tuple(r) for r in x.iloc[start : start + n].itertuples(index=False)], None)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
@pytest.mark.parametrize("array_input", [False, True])
def test_one_call_answers_each_request_as_the_model_would(data: Any, array_input: bool) -> None:
    x, y = data
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    runner = runner_for(model, x, array_input=array_input)
    assert runner.label_from_proba and runner.array_input is array_input
    as_array = Parsed(None, None, x.iloc[1:4].to_numpy())  # many float rows of one request
    requests = [rows_of(x, 0, 1), as_array, rows_of(x, 4, 1)]
    answers = runner.run(requests)
    assert [len(a.predictions) for a in answers] == [1, 3, 1]
    got = [p for a in answers for p in a.predictions]
    assert got == model.predict(x.iloc[:5]).tolist()
    proba = np.concatenate([a.probabilities for a in answers if a.probabilities is not None])
    np.testing.assert_allclose(proba, model.predict_proba(x.iloc[:5]), rtol=1e-12)


def test_a_classifier_not_known_to_predict_its_argmax_is_asked_predict_too(data: Any) -> None:
    x, y = data
    sgd = SGDClassifier(loss="log_loss", random_state=0)
    model = make_pipeline(StandardScaler(), sgd).fit(x, y)
    runner = runner_for(model, x)
    assert not runner.label_from_proba
    (answer,) = runner.run([rows_of(x, 0, 40)])
    assert answer.predictions == model.predict(x.iloc[:40]).tolist()


def test_input_the_model_itself_refuses_is_a_422(data: Any) -> None:
    x, y = data
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    runner = runner_for(model, x)
    bad = Parsed([tuple([float("nan")] * x.shape[1])], None)  # NaN: signature said non-null
    with pytest.raises(Unprocessable) as info:
        runner.run([bad])
    assert info.value.details["problem"] == "model"


def test_the_warm_up_runs_on_the_golden_rows_and_says_when_they_differ(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A model that refuses the rows the signature builds (an unseen category "") warms up on
    its golden rows instead, and a golden set recorded by another model is logged as shifted."""
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.preprocessing import OneHotEncoder

    from relayml.flavors.golden import build_golden, read_golden

    rng = np.random.default_rng(0)
    x = pd.DataFrame({"n": rng.normal(size=200), "city": rng.choice(["a", "b", "c"], 200)})
    y = (x.n + (x.city == "a") > 0.5).astype(int)

    def fit(c: float) -> Any:
        prep = make_column_transformer((OneHotEncoder(), ["city"]), (StandardScaler(), ["n"]))
        return make_pipeline(prep, LogisticRegression(C=c)).fit(x, y)

    def loaded(model: Any) -> Any:
        saved = dump_model(model, input_example=x[:20])
        return load_model(saved.data, flavor=saved.flavor, digest=saved.digest,
                          signature=saved.signature)  # fmt: skip

    model = loaded(fit(1.0))
    arm = ServedArm(ArmRole.PRIMARY, "m@1", "m", 1, model.digest, "sklearn", 100.0)
    blind = Runner(arm, model, None)
    blind.warm_up()  # the built row's "" is a category the encoder never saw
    assert not blind.label_from_proba
    golden = read_golden(build_golden(model, input_example=x[:20]), model.signature)
    caplog.clear()
    seeing = Runner(arm, model, None)
    seeing.warm_up(golden)
    assert seeing.label_from_proba and not caplog.records
    other = read_golden(build_golden(loaded(fit(0.01)), input_example=x[:20]), model.signature)
    Runner(arm, model, None).warm_up(other)
    (warned,) = [r.getMessage() for r in caplog.records]
    assert "m@1 gives" in warned and "differ from those recorded at registration" in warned


# --- the prediction log ------------------------------------------------------------------------

SIG = Signature(
    inputs=(ColumnSpec("age", ColumnType.FLOAT), ColumnSpec("plan", ColumnType.STRING)),
    output=OutputSpec(OutputKind.LABEL, ColumnType.INTEGER, (), (0, 1)),
)


def entry(i: int, n: int = 1, deployment: str = "churn") -> Entry:
    return Entry(
        deployment=deployment,
        project="default",
        model="churn",
        version=3,
        digest="ab" * 32,
        arm="primary",
        request_id=f"req-{i}",
        ts=datetime(2030, 1, 2, tzinfo=UTC).timestamp() + i,
        latency_ms=1.5,
        ids=[f"id-{i}-{k}" for k in range(n)],
        schema=Schema(SIG),
        inputs=Parsed([(30.0 + k, "pro") for k in range(n)], None),
        predictions=[1] * n,
        probabilities=np.array([[0.25, 0.75]] * n),
        classes=[0, 1],
    )


class Store:
    """Where segments go: a folder, as the artifact store keeps them."""

    def __init__(self, root: Path, fail: int = 0) -> None:
        self.root = root
        self.fail = fail
        self.segments: list[tuple[str, int]] = []

    def __call__(self, project: str, deployment: str, path: Path, uri: str, records: int,
                 first: datetime, last: datetime) -> None:  # fmt: skip
        if self.fail:
            self.fail -= 1
            raise OSError("store unreachable")
        dest = self.root / uri
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(path.read_bytes())
        assert first <= last
        self.segments.append((uri, records))

    def rows(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for uri, _ in self.segments:
            out.extend(pq.read_table(self.root / uri).to_pylist())
        return out


def make_log(tmp_path: Path, store: Store, **kw: Any) -> PredictionLog:
    options: dict[str, Any] = {"capacity": 1000, "segment_records": 1000, "segment_seconds": 60}
    options.update(kw)
    return PredictionLog(store, tmp_path / "spool", "host-1-abc", **options)


def test_every_offered_row_is_written_once_with_the_documented_schema(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    log = make_log(tmp_path, store, segment_records=4)
    for i in range(5):
        assert log.offer(entry(i, n=2))
    log.offer(entry(99, deployment="other"))
    log.close()
    rows = store.rows()
    assert len(rows) == 11 and log.written == 11 and log.dropped == 0
    assert len({r["prediction_id"] for r in rows}) == 11
    assert tuple(rows[0]) == SCHEMA_FIELDS
    first = next(r for r in rows if r["prediction_id"] == "id-0-1")
    assert first["inputs"] == {"age": 31.0, "plan": "pro"}
    assert first["prediction"] == 1
    assert first["probabilities"] == {"0": 0.25, "1": 0.75}
    assert first["version"] == 3 and first["arm"] == "primary" and first["request_id"] == "req-0"
    assert first["ts"] == datetime(2030, 1, 2, tzinfo=UTC)
    uris = [u for u, _ in store.segments]
    assert all(u.startswith("serving/default/") and "/2030-01-02/host-1-abc-" in u for u in uris)
    assert [n for u, n in store.segments if "/churn/" in u] == [4, 4, 2]


def test_a_full_queue_drops_and_counts_instead_of_waiting(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    dropped: list[int] = []
    # the writer wakes twice a second: 50 offers arrive long before it drains the queue
    log = make_log(tmp_path, store, capacity=3, on_dropped=lambda d, n: dropped.append(n))
    offered = [log.offer(entry(i, n=2)) for i in range(50)]
    log.close()
    written = len(store.rows())
    assert log.dropped == sum(dropped) > 0
    assert written + log.dropped == 100
    assert written == 2 * sum(offered)


def test_a_refused_segment_is_kept_and_stored_later(tmp_path: Path) -> None:
    store = Store(tmp_path / "store", fail=2)
    log = make_log(tmp_path, store, segment_records=2)
    for i in range(4):
        log.offer(entry(i))
    log.close()
    assert log.upload_failures == 2 and log.unstored == 0
    assert sorted(r["request_id"] for r in store.rows()) == [f"req-{i}" for i in range(4)]


# --- metrics -----------------------------------------------------------------------------------


def test_metrics_page_parses_with_the_prometheus_parser() -> None:
    arm = ["churn", "primary", "churn", "3", "ab" * 32, "churn@production"]
    state = {"queues": {"churn": 2}, "log_queue": 5, "ready": True, "arms": [arm]}
    m = Metrics(lambda: state)
    m.requests.labels("churn", "3", "primary", "200").inc(4)
    m.latency.labels("churn", "3", "primary").observe(0.002)
    m.log_dropped.labels("churn").inc(7)
    families = {f.name: f for f in text_string_to_metric_families(m.render().decode())}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in families.values() for s in f.samples}  # fmt: skip
    assert samples[("relay_serving_requests_total", (("arm", "primary"), ("deployment", "churn"),
                    ("status", "200"), ("version", "3")))] == 4  # fmt: skip
    assert samples[("relay_serving_log_records_dropped_total", (("deployment", "churn"),))] == 7
    assert samples[("relay_serving_queue_depth", (("deployment", "churn"),))] == 2
    assert samples[("relay_serving_ready", ())] == 1
    info = [s for s in families["relay_serving_model_info"].samples]
    assert info[0].labels["version"] == "3" and info[0].labels["ref"] == "churn@production"
    assert families["relay_serving_request_seconds"].type == "histogram"


MIXED = Signature(
    inputs=(
        ColumnSpec("age", ColumnType.FLOAT, nullable=True),
        ColumnSpec("visits", ColumnType.INTEGER, nullable=True),
        ColumnSpec("plan", ColumnType.STRING),
        ColumnSpec("active", ColumnType.BOOLEAN),
    ),
    output=OutputSpec(OutputKind.VALUE, ColumnType.FLOAT, ()),
)


def test_inputs_keep_their_types_and_nulls_whatever_format_they_came_in(tmp_path: Path) -> None:
    schema = Schema(MIXED)
    json_rows = Parsed([(None, 2, "pro", True), (1.5, None, "free", False)], None)
    csv = schema.parse_csv(b"age,visits,plan,active\n,7,team,true\n")
    store = Store(tmp_path / "store")
    log = make_log(tmp_path, store)
    for i, (parsed, n) in enumerate(((json_rows, 2), (csv, 1))):
        e = entry(i, n=n)
        e.schema, e.inputs, e.predictions, e.probabilities, e.classes = (
            schema, parsed, [0.5] * n, None, None
        )  # fmt: skip
        log.offer(e)
    log.close()
    rows = store.rows()
    assert [r["inputs"] for r in rows] == [
        {"age": None, "visits": 2, "plan": "pro", "active": True},
        {"age": 1.5, "visits": None, "plan": "free", "active": False},
        {"age": None, "visits": 7, "plan": "team", "active": True},
    ]
    assert [r["prediction"] for r in rows] == [0.5] * 3
    assert all(r["probabilities"] is None for r in rows)
