"""A deployment's live traffic (`services.deployments.traffic`, the UI's deployment page) read
from prediction-log segments registered as a model server registers them: requests, not rows,
per minute and arm; latency per arm and version; golden-set replays and older segments left
out; a bounded read that says what it left unread; the read permission of the project."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from relayml.domain.deployments import GOLDEN_REQUEST_PREFIX, TrafficRules
from relayml.domain.identity import Principal
from relayml.errors import InvalidInput, PermissionDenied
from relayml.services import Services, deployment_traffic, open_services
from relayml.services.base import utcnow
from tests.deployments.traffic_log import log_table


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Services, Principal]]:
    from sklearn.linear_model import LogisticRegression

    from relayml.flavors.formats import save_model

    svc = open_services(f"sqlite:///{tmp_path / 'relay.db'}", str(tmp_path / "artifacts"))
    admin = svc.identity.provision_local("admin")
    svc.identity.ensure_project(admin, "churn")
    x = np.random.default_rng(0).normal(size=(40, 1))
    for c in (0.5, 1.0):
        path = tmp_path / f"m{c}.skops"
        saved = save_model(LogisticRegression(C=c).fit(x, x[:, 0] > 0), path, input_example=x[:3])
        blob, _ = svc.models.upload(admin, "churn", [path.read_bytes()])
        env = saved.environment.to_dict()
        svc.models.register(admin, "churn", "churn", blob, flavor="sklearn", environment=env)
    rules = TrafficRules(canary="churn@2", canary_percent=10)
    svc.deployments.create(admin, "churn", "churn-api", "churn@1", traffic=rules)
    yield svc, admin
    svc.close()


def _record(svc: Services, who: Principal, seq: int, **table: object) -> None:
    data = log_table("churn-api", "churn", **table)  # type: ignore[arg-type]
    out = io.BytesIO()
    pq.write_table(data, out)
    digest, _ = svc.deployments.upload(who, "churn", "churn-api", [out.getvalue()])
    ts = data["ts"].to_pylist()
    svc.deployments.record_segment(
        who, "churn", "churn-api", uri=f"serving/churn/churn-api/d/s1-{seq}.parquet",
        digest=digest, records=data.num_rows, first_at=min(ts), last_at=max(ts), server_id="s1",
    )  # fmt: skip


def test_requests_per_minute_and_latency_per_arm(world: tuple[Services, Principal]) -> None:
    svc, admin = world
    now = utcnow()
    minute = now.replace(second=0, microsecond=0)
    # 30 primary requests of 3 rows each, one per minute over the last half hour
    times = [minute - timedelta(minutes=i) for i in range(30)]
    lat = [float(i) for i in range(1, 31)]
    _record(svc, admin, 1, arm="primary", version=1, times=times, latencies=lat, rows=[3] * 30)
    # 5 canary requests 2 minutes ago; and a golden-set replay, which is no traffic
    two = [minute - timedelta(minutes=2)] * 5
    _record(svc, admin, 2, arm="canary", version=2, times=two, latencies=[9.0] * 5, rows=[1] * 5)
    _record(
        svc, admin, 3, arm="primary", version=1, times=[minute], latencies=[500.0], rows=[40],
        prefix=GOLDEN_REQUEST_PREFIX,
    )  # fmt: skip
    # yesterday's segment does not belong to the last hour
    old = [now - timedelta(days=1)] * 4
    _record(svc, admin, 4, arm="primary", version=1, times=old, latencies=[1.0] * 4, rows=[1] * 4)

    t = svc.deployments.traffic(admin, "churn", "churn-api", minutes=60, as_of=now)
    assert (t.segments, t.segments_read, t.rows_unread, t.complete) == (3, 3, 0, True)
    assert (t.requests, t.rows) == (35, 95)
    assert list(t.per_minute) == ["primary", "canary"]
    assert t.per_minute["primary"][-30:] == (1,) * 30 and sum(t.per_minute["primary"]) == 30
    assert t.per_minute["canary"][-3] == 5 and sum(t.per_minute["canary"]) == 5
    primary, canary = t.arms
    assert (primary.arm, primary.version, primary.requests, primary.rows) == ("primary", 1, 30, 90)
    assert primary.latency_ms["p50"] == pytest.approx(np.percentile(lat, 50))
    assert primary.latency_ms["p95"] == pytest.approx(np.percentile(lat, 95))
    assert (canary.arm, canary.version, canary.latency_ms["p95"]) == ("canary", 2, 9.0)
    # a 5-minute window keeps only the last five minutes' requests
    short = svc.deployments.traffic(admin, "churn", "churn-api", minutes=5, as_of=now)
    assert sum(short.per_minute["primary"]) == 5 and short.minutes == 5


def test_a_bounded_read_says_what_it_left(
    world: tuple[Services, Principal], monkeypatch: pytest.MonkeyPatch
) -> None:
    svc, admin = world
    now = utcnow()
    minute = now.replace(second=0, microsecond=0)
    for seq in range(4):  # four segments, the newest last
        at = [minute - timedelta(minutes=8 - 2 * seq)]
        _record(svc, admin, seq, arm="primary", version=1, times=at, latencies=[1.0], rows=[7],
                prefix=f"s{seq}")  # fmt: skip
    monkeypatch.setattr(deployment_traffic, "MAX_SEGMENTS", 3)
    t = svc.deployments.traffic(admin, "churn", "churn-api", as_of=now)
    assert (t.segments, t.segments_read, t.rows_unread, t.complete) == (4, 3, 7, False)
    assert t.requests == 3  # the oldest segment's request is the one left unread
    assert t.per_minute["primary"][-9] == 0 and t.per_minute["primary"][-7] == 1
    monkeypatch.setattr(deployment_traffic, "MAX_ROWS", 10)
    t = svc.deployments.traffic(admin, "churn", "churn-api", as_of=now)
    assert (t.segments_read, t.rows_unread) == (1, 21)  # at least one segment is always read


def test_only_readers_of_the_project_and_a_sane_window(world: tuple[Services, Principal]) -> None:
    svc, admin = world
    svc.identity.ensure_project(admin, "other")
    outsider = svc.identity.create_user(admin, "olga", ["ml_engineer"], "other")
    with pytest.raises(PermissionDenied):
        svc.deployments.traffic(svc.identity.authenticate(outsider.token), "churn", "churn-api")
    for bad in (0, 2**63, 10_000):
        with pytest.raises(InvalidInput, match="minutes must be a whole number"):
            svc.deployments.traffic(admin, "churn", "churn-api", minutes=bad)
    with pytest.raises(InvalidInput):
        svc.deployments.traffic(admin, "churn", "<script>")
    with pytest.raises(InvalidInput, match="as_of"):
        svc.deployments.traffic(admin, "churn", "churn-api", as_of=datetime(2026, 1, 1))
