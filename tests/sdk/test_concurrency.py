"""Eight processes logging into one store at once lose nothing and never see a locked database;
processes logging into one shared run lose none of each other's latest values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from relayml.sdk.session import connect
from tests.conftest import settings_for

WRITER = r"""
import sys, relayml as relay
relay.init(project="conc")
worker = sys.argv[1]
with relay.start_run(experiment="par", name=f"w{worker}", params={"worker": worker}) as run:
    for step in range(400):
        run.log_metrics({f"m{k}": step * 0.5 + k for k in range(5)}, step=step)
        if step % 40 == 39:
            run.flush()  # many small transactions, interleaved with the other writers
    run.set_tags({"done": "yes"})
print(run.id)
"""


SHARED = r"""
import sys, relayml as relay
from relayml.domain.tracking import MetricPoint
from relayml.sdk import session
relay.init(project="conc")
backend = session.current().backend
run_id, worker = sys.argv[1], sys.argv[2]
for step in range(60):  # one transaction per step, racing the other workers on one run
    point = MetricPoint(f"w{worker}", float(step), step, 1_700_000_000_000 + step)
    backend.tracking.log_batch(run_id, metrics=[point], tags={f"t{worker}": str(step)})
"""


def _env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "RELAY_HOME": str(tmp_path / "home"),
        "RELAY_DATABASE_URL": database_url,
        "RELAY_USER": "trainer",
    }


def _run_writers(tmp_path: Path, database_url: str) -> None:
    env = _env(tmp_path, database_url)
    setup = connect(
        settings=settings_for(tmp_path / "home", database_url, user="trainer"), project="conc"
    )
    setup.backend.close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert "locked" not in err.lower(), err
        assert p.returncode == 0, err
        ids.append(out.strip())
    backend = connect(
        settings=settings_for(tmp_path / "home", database_url, user="trainer")
    ).backend
    runs = backend.tracking.search_runs(project="conc", filter="tags.done = 'yes'").runs
    assert sorted(r.id for r in runs) == sorted(ids)
    for run_id in ids:
        for k in range(5):
            hist = backend.tracking.metric_history(run_id, f"m{k}")
            assert [p.step for p in hist] == list(range(400))
            assert [p.value for p in hist] == [s * 0.5 + k for s in range(400)]
    assert backend.audit.verify().ok
    backend.close()


def test_eight_writers_on_sqlite(tmp_path: Path) -> None:
    _run_writers(tmp_path, f"sqlite:///{tmp_path / 'home' / 'relay.db'}")


def test_eight_writers_on_postgres(tmp_path: Path, fresh_pg: str) -> None:
    _run_writers(tmp_path, fresh_pg)


def _share_one_run(tmp_path: Path, database_url: str) -> None:
    settings = settings_for(tmp_path / "home", database_url, user="trainer")
    backend = connect(settings=settings, project="conc").backend
    run = backend.tracking.create_run(project="conc", experiment="shared")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SHARED, run.id, str(i)],
            env=_env(tmp_path, database_url),
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
    got = backend.tracking.get_run(run.id)
    assert got.metrics == {f"w{i}": 59.0 for i in range(6)}
    assert got.tags == {f"t{i}": "59" for i in range(6)}
    found = backend.tracking.search_runs(project="conc", filter="metrics.w5 = 59").runs
    assert [r.metrics for r in found] == [got.metrics]
    backend.close()


def test_writers_sharing_a_run_on_sqlite(tmp_path: Path) -> None:
    _share_one_run(tmp_path, f"sqlite:///{tmp_path / 'home' / 'relay.db'}")


def test_writers_sharing_a_run_on_postgres(tmp_path: Path, fresh_pg: str) -> None:
    _share_one_run(tmp_path, fresh_pg)
