"""Eight processes logging into one store at once lose nothing and never see a locked database."""

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


def _run_writers(tmp_path: Path, database_url: str) -> None:
    env = {
        **os.environ,
        "RELAY_HOME": str(tmp_path / "home"),
        "RELAY_DATABASE_URL": database_url,
        "RELAY_USER": "trainer",
    }
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
    runs = backend.search_runs(project="conc", filter="tags.done = 'yes'").runs
    assert sorted(r.id for r in runs) == sorted(ids)
    for run_id in ids:
        for k in range(5):
            hist = backend.metric_history(run_id, f"m{k}")
            assert [p.step for p in hist] == list(range(400))
            assert [p.value for p in hist] == [s * 0.5 + k for s in range(400)]
    assert backend.audit_verify().ok
    backend.close()


def test_eight_writers_on_sqlite(tmp_path: Path) -> None:
    _run_writers(tmp_path, f"sqlite:///{tmp_path / 'home' / 'relay.db'}")


def test_eight_writers_on_postgres(tmp_path: Path, fresh_pg: str) -> None:
    _run_writers(tmp_path, fresh_pg)
