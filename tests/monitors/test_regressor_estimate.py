"""A regressor's deployment watched by a real monitor: its windows carry the label-free MAE and
RMSE (direct loss estimation, fitted on the evaluation dataset's labels when the monitor's
reference is built), the estimate's fall opens a performance alert before any label arrives,
and labels that come later sit beside it on the same window. The log is written by the model
server's own writer, as in tests/monitors/conftest.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tests.conftest import settings_for

from relayml.domain.monitors import AlertFamily, AlertKind
from relayml.domain.numbers import decode_float
from relayml.sdk import session
from relayml.serving.inputs import Parsed, Schema
from relayml.serving.predlog import Entry, PredictionLog

P = "homes"
FEATURES = ["size", "age"]


def homes(n: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Prices bend upward for large homes, which a straight line does not see: the further
    traffic moves into large sizes, the more the model errs."""
    rng = np.random.default_rng(seed)
    size = rng.normal(shift, 1.0, n)
    age = rng.normal(0.0, 1.0, n)
    price = size + 1.5 * np.maximum(size - 1.0, 0.0) ** 2 - 0.5 * age + rng.normal(0, 0.5, n)
    return pd.DataFrame({"size": size, "age": age, "price": price})


def log_hours(backend: Any, home: Path, model: Any, schema: Schema, t0: datetime,
              hours: dict[int, float], n: int = 300) -> dict[int, pd.DataFrame]:  # fmt: skip
    server = f"srv-{uuid.uuid4().hex[:8]}"

    def sink(project: str, deployment: str, path: Path, uri: str, records: int,
             first: datetime, last: datetime) -> None:  # fmt: skip
        backend.deployments.record_segment(
            project, deployment, path, uri=uri, records=records, first_at=first,
            last_at=last, server_id=server,
        )  # fmt: skip

    log = PredictionLog(sink, home / "spool", server, capacity=10**6, segment_records=n,
                        segment_seconds=3600)  # fmt: skip
    frames = {}
    for hour, shift in hours.items():
        frame = homes(n, shift, seed=100 + hour)
        frame["id"] = [f"h{hour}-{i}" for i in range(n)]
        frames[hour] = frame
        x = frame[FEATURES].to_numpy()
        preds = model.predict(frame[FEATURES]).tolist()
        start = (t0 + timedelta(hours=hour)).timestamp()
        for i in range(0, n, 50):
            log.offer(
                Entry(
                    deployment="valuer-api", project=P, model="valuer", version=1,
                    digest="ab" * 32, arm="primary", request_id=f"r-{hour}-{i}",
                    ts=start + 60 + i * 10, latency_ms=1.0, ids=list(frame["id"][i : i + 50]),
                    schema=schema, inputs=Parsed(None, None, x[i : i + 50]),
                    predictions=preds[i : i + 50], probabilities=None, classes=None,
                )
            )  # fmt: skip
    log.close()
    assert log.upload_failures == 0
    return frames


def test_a_regressor_monitor_estimates_its_error_and_alerts_before_labels(
    tmp_path: Path,
) -> None:
    from sklearn.linear_model import LinearRegression

    import relayml as relay

    home = tmp_path / ".relay"
    relay.init(P, home=home)
    train = homes(3000)
    relay.datasets.publish("sales", train)
    relay.datasets.publish("sales-holdout", homes(3000, seed=5))  # the evaluation set
    with relay.start_run(experiment="valuer") as run:
        run.use_dataset("sales@1")
        model = LinearRegression().fit(train[FEATURES], train["price"])
        mv = relay.models.register("valuer", model, run=run, input_example=train[FEATURES][:5])
    session.reset()
    assert mv.signature is not None
    backend = session.connect(settings=settings_for(home), project=P).backend
    try:
        backend.deployments.create(P, "valuer-api", "valuer@1")
        t0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=12)
        backend.monitors.create(
            P, "valuer-api", window="1h", target="price", evaluation="sales-holdout@1",
            min_rows=100, alert_after="2/3", since=t0,
        )  # fmt: skip
        # two ordinary hours, then buyers of large homes: sizes shift by 1.2 sd
        frames = log_hours(backend, home, model, Schema(mv.signature), t0,
                           {0: 0.0, 1: 0.0, 2: 1.2, 3: 1.2, 4: 1.2})  # fmt: skip
        backend.monitors.process(P, "valuer-api")
        windows = backend.monitors.history(P, "valuer-api")
        assert [w.labelled for w in windows] == [0] * 5  # no label has arrived
        docs = [w.assessment or {} for w in windows]
        estimated = [decode_float(d["estimated"]["mae"]["value"]) for d in docs]
        realised = [
            float(np.mean(np.abs(model.predict(f[FEATURES]) - f["price"]))) for f in frames.values()
        ]
        for est, real in zip(estimated, realised, strict=True):
            assert abs(est - real) / real < 0.2, (estimated, realised)
        assert min(estimated[2:]) > 1.3 * max(estimated[:2])  # the shift, seen without labels
        assert "rmse" in docs[0]["estimated"]
        flagged = [w.flags.get("estimated_performance", []) for w in windows]
        assert flagged[:2] == [[], []] and all("mae" in f for f in flagged[2:]), flagged
        live = backend.monitors.list_alerts(P)
        (alert,) = [
            a for a in live if (a.kind, a.subject) == (AlertKind.ESTIMATED_PERFORMANCE, "mae")
        ]
        assert alert.kind.family is AlertFamily.PERFORMANCE  # what a loop reacts to
        # labels of the first shifted hour arrive: realised sits beside the estimate
        shifted = frames[2]
        for pid, price in zip(shifted["id"][:200], shifted["price"][:200], strict=True):
            backend.deployments.submit_feedback(P, "valuer-api", pid, outcome=float(price))
        done = backend.monitors.process(P, "valuer-api")
        assert done.updated == (windows[2].seq,)
        third = backend.monitors.history(P, "valuer-api")[2]
        a = third.assessment or {}
        assert third.labelled == 200
        real = decode_float(a["realised"]["mae"]["value"])
        on_labelled = decode_float(a["estimated_on_labelled"]["mae"]["value"])
        assert abs(on_labelled - real) / real < 0.2, (on_labelled, real)
        assert "mae" in a["estimation_error"]
        # the report page shows the estimate beside the realised
        from relayml.sdk.monitors import write_html

        page = write_html(backend.monitors.report(P, "valuer-api"), tmp_path / "r.html")
        text = page.read_text()
        assert "estimated mae" in text and "realised mae" in text
    finally:
        backend.close()
