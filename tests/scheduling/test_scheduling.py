"""The shared scheduler: a slot runs once however many schedulers race for it, one catch-up
run after downtime, and a second kind of schedule (monitors) through the same machinery."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from relayml import scheduling
from relayml.domain.identity import Principal
from relayml.domain.scheduling import ScheduleKey, ScheduleKind
from relayml.errors import InvalidInput, PermissionDenied
from relayml.services import Services, open_services
from tests.scheduling.toy import MonitorSource

REPO = Path(__file__).resolve().parents[2]
CRON = "*/10 * * * *"
NOW = datetime(2026, 12, 1, 12, 34, tzinfo=UTC)

# One scheduler process: wait for the start signal, tick once, print how many slots it started.
SCHEDULER = """
import os, sys, time
from datetime import datetime
from relayml import scheduling
from relayml.domain.identity import Principal
from relayml.services import open_services
from tests.scheduling.toy import MonitorSource

url, artifacts, go, now = sys.argv[1:5]
services = open_services(url, artifacts)
source = MonitorSource(services, Principal("admin"), "ops", "*/10 * * * *")
while not os.path.exists(go):
    time.sleep(0.005)
print(len(scheduling.tick([source], now=datetime.fromisoformat(now))))
services.close()
"""


def _services(url: str, tmp_path: Path) -> Services:
    services = open_services(url, (tmp_path / "artifacts").as_uri())
    admin = services.identity.provision_local("admin")
    services.identity.ensure_project(admin, "ops")
    return services


def test_racing_schedulers_start_a_slot_once(store_url: str, tmp_path: Path) -> None:
    services = _services(store_url, tmp_path)
    go = tmp_path / "go"
    argv = [sys.executable, "-c", SCHEDULER, store_url, (tmp_path / "artifacts").as_uri()]
    argv += [str(go), NOW.isoformat()]
    run = dict(cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs = [subprocess.Popen(argv, **run) for _ in range(4)]  # type: ignore[call-overload]
    time.sleep(1.0)  # let them connect, so the ticks overlap
    go.touch()
    started = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        started.append(int(out.strip()))
    assert sorted(started) == [0, 0, 0, 1]  # exactly one scheduler ran the slot
    admin = services.identity.provision_local("admin")
    key = ScheduleKey(ScheduleKind.MONITOR, "ops", "churn-api")
    state = services.scheduling.schedule(admin, key, CRON)
    assert state.last_slot == NOW.replace(minute=30)
    services.close()


def test_one_catch_up_run_after_downtime(tmp_path: Path) -> None:
    services = _services(f"sqlite:///{tmp_path / 'relay.db'}", tmp_path)
    admin = services.identity.provision_local("admin")
    source = MonitorSource(services, admin, "ops", CRON)
    services.scheduling.restart(admin, source.key, since=NOW)
    assert scheduling.tick([source], now=NOW + timedelta(minutes=5)) == []  # nothing due yet

    # The scheduler was down for a day: 144 slots were missed, the newest one runs, once.
    later = NOW + timedelta(days=1, minutes=3)
    (outcome,) = scheduling.tick([source], now=later)
    assert outcome.slot == outcome.result == datetime(2026, 12, 2, 12, 30, tzinfo=UTC)
    assert outcome.schedule.key.kind is ScheduleKind.MONITOR
    assert scheduling.tick([source], now=later) == []  # that slot is done
    assert [o.slot for o in scheduling.tick([source], now=later + timedelta(minutes=10))] == [
        datetime(2026, 12, 2, 12, 40, tzinfo=UTC)
    ]
    assert source.checked == [datetime(2026, 12, 2, 12, 30, tzinfo=UTC), later.replace(minute=40)]
    services.close()


def test_kinds_do_not_share_claims_and_claims_are_role_checked(tmp_path: Path) -> None:
    services = _services(f"sqlite:///{tmp_path / 'relay.db'}", tmp_path)
    admin = services.identity.provision_local("admin")
    slot = NOW.replace(minute=30)
    monitor = ScheduleKey(ScheduleKind.MONITOR, "ops", "nightly")
    pipeline = ScheduleKey(ScheduleKind.PIPELINE, "ops", "nightly")
    assert services.scheduling.claim(admin, monitor, slot)
    assert services.scheduling.claim(admin, pipeline, slot)  # same name, another kind
    assert not services.scheduling.claim(admin, monitor, slot)
    assert not services.scheduling.claim(admin, monitor, slot - timedelta(minutes=10))
    services.identity.create_user(admin, "dana", ["data_engineer"], "ops")
    dana = Principal("dana")  # schedules pipelines, does not manage monitors
    assert services.scheduling.claim(dana, pipeline, slot + timedelta(minutes=10))
    with pytest.raises(PermissionDenied, match=r"monitor\.manage"):
        services.scheduling.claim(dana, monitor, slot + timedelta(minutes=10))
    with pytest.raises(InvalidInput, match="time zone"):
        services.scheduling.claim(admin, monitor, datetime(2026, 12, 1, 13))
    services.close()
