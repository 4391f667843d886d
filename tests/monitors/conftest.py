"""A deployment whose prediction log is written by the model server's own writer
(`serving.predlog.PredictionLog`, registering each segment through the backend as `relay
serve` does), for the monitoring tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.conftest import settings_for

from relayml.client.base import Backend
from relayml.domain.models import Signature
from relayml.sdk import session
from relayml.serving.inputs import Parsed, Schema
from relayml.serving.predlog import Entry, PredictionLog

P = "credit"
FEATURES = ["income", "debt"]


def applicants(n: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(50 + shift, 10, n)
    debt = rng.normal(20, 5, n)
    default = (debt / income + rng.normal(0, 0.1, n) > 0.45).astype(int)
    return pd.DataFrame({"income": income, "debt": debt, "default": default})


@dataclass
class Served:
    backend: Backend
    home: Path
    model: Any
    signature: Signature
    t0: datetime
    ids: dict[int, list[str]] = field(default_factory=dict)

    def log(
        self,
        hours: dict[int, float],
        n: int = 200,
        per_segment: int | None = None,
        *,
        model: Any = None,
        version: int = 1,
        seed: int = 100,
    ) -> None:
        """Answer `n` requests in each hour (after t0) with inputs shifted by `hours[hour]`,
        through the server's log writer; one segment per `per_segment` rows (default: an
        hour's). The answers are `model`'s (default: scorecard@1's), logged as `version`'s."""
        model = model if model is not None else self.model

        server = f"srv-{uuid.uuid4().hex[:8]}"  # a server process of its own, as each restart is

        def sink(project: str, deployment: str, path: Path, uri: str, records: int,
                 first: datetime, last: datetime) -> None:  # fmt: skip
            self.backend.deployments.record_segment(
                project, deployment, path, uri=uri, records=records, first_at=first,
                last_at=last, server_id=server,
            )  # fmt: skip

        log = PredictionLog(
            sink, self.home / "spool", server, capacity=10**6,
            segment_records=per_segment or n, segment_seconds=3600,
        )  # fmt: skip
        schema = Schema(self.signature)
        for hour, shift in hours.items():
            frame = applicants(n, shift, seed=seed + hour)
            x = frame[FEATURES].to_numpy()
            proba = model.predict_proba(frame[FEATURES])
            preds = model.predict(frame[FEATURES]).tolist()
            start = (self.t0 + timedelta(hours=hour)).timestamp()
            ids = [f"h{hour}-{i}" if version == 1 else f"h{hour}-v{version}-{i}" for i in range(n)]
            self.ids[hour] = ids
            for i in range(0, n, 50):  # requests of 50 rows
                log.offer(
                    Entry(
                        deployment="scorecard-api", project=P, model="scorecard", version=version,
                        digest="ab" * 32, arm="primary", request_id=f"r-{hour}-{i}",
                        ts=start + 60 + i * 10, latency_ms=1.0, ids=ids[i : i + 50],
                        schema=schema, inputs=Parsed(None, None, x[i : i + 50]),
                        predictions=preds[i : i + 50], probabilities=proba[i : i + 50],
                        classes=[0, 1],
                    )
                )  # fmt: skip
        log.close()
        assert log.upload_failures == 0

    def truth(self, hour: int, n: int = 200) -> list[int]:
        return [int(v) for v in applicants(n, 0.0, seed=100 + hour)["default"]]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """scorecard@1, trained in a run that used loans@1, deployed as scorecard-api."""
    from sklearn.linear_model import LogisticRegression

    import relayml as relay

    home = tmp_path / ".relay"
    relay.init(P, home=home)
    train = applicants(3000)
    relay.datasets.publish("loans", train)
    with relay.start_run(experiment="scorecard") as run:
        run.use_dataset("loans@1")
        model = LogisticRegression().fit(train[FEATURES], train["default"])
        mv = relay.models.register("scorecard", model, run=run, input_example=train[FEATURES][:5])
    session.reset()
    assert mv.signature is not None
    backend = session.connect(settings=settings_for(home), project=P).backend
    backend.deployments.create(P, "scorecard-api", "scorecard@1")
    t0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=12)
    yield Served(backend, home, model, mv.signature, t0)
    backend.close()
