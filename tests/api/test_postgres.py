"""The server on PostgreSQL: the same routes over the scaled-out metadata store."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from relayml.client.http import HttpBackend
from relayml.domain.tracking import MetricPoint
from relayml.testing.server import running_server

pytestmark = pytest.mark.postgres


def test_server_on_postgresql(fresh_pg: str, tmp_path: Path) -> None:
    with running_server(tmp_path / "home", database_url=fresh_pg) as info:
        b = HttpBackend(info.url, info.admin_token)
        try:
            b.identity.ensure_project("pg")
            run = b.tracking.create_run(project="pg", experiment="e", params={"C": 1.0})
            points = [MetricPoint("loss", v, i, i) for i, v in enumerate([0.5, math.inf])]
            assert b.tracking.log_batch(run.id, metrics=points) == 2
            src = tmp_path / "model.bin"
            src.write_bytes(b"weights")
            info_art = b.artifacts.log_artifact(run.id, "model.bin", src)
            out = b.artifacts.download_artifact(run.id, "model.bin", tmp_path / "out.bin")
            assert out.read_bytes() == b"weights" and len(info_art.digest) == 64
            assert b.tracking.end_run(run.id).metrics == {"loss": math.inf}
            page = b.tracking.search_runs(project="pg", filter="params.C = '1.0'")
            assert [r.id for r in page.runs] == [run.id]
            assert b.audit.verify().ok
        finally:
            b.close()
