"""The backend contract for artifacts: a run's files, the same on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from relayml.errors import (
    InvalidInput,
    NotFound,
)
from relayml.testing.contract import ContractEnv


class ArtifactContract:
    def test_artifacts_round_trip(self, contract: ContractEnv, tmp_path: Path) -> None:
        b = contract.admin
        run = b.tracking.create_run(project=contract.new_project(), experiment="e")
        src = tmp_path / "report.html"
        src.write_bytes(b"<h1>ok</h1>" * 1000)
        info = b.artifacts.log_artifact(run.id, "reports/report.html", src)
        assert info.size == src.stat().st_size and len(info.digest) == 64
        assert [a.path for a in b.artifacts.list_artifacts(run.id)] == ["reports/report.html"]
        assert b.artifacts.list_artifacts(run.id, "reports") == [info]
        out = b.artifacts.download_artifact(
            run.id, "reports/report.html", tmp_path / "dl" / "r.html"
        )
        assert out.read_bytes() == src.read_bytes()
        with pytest.raises(NotFound):
            b.artifacts.download_artifact(run.id, "reports/missing.html", tmp_path / "x")

    def test_artifact_paths_cannot_escape(self, contract: ContractEnv, tmp_path: Path) -> None:
        b = contract.admin
        run = b.tracking.create_run(project=contract.new_project(), experiment="e")
        src = tmp_path / "f.txt"
        src.write_text("x")
        for bad in ("../escape.txt", "/etc/passwd", "a/../../b", "a\x00b", "..\\x", "a//b"):
            with pytest.raises(InvalidInput):
                b.artifacts.log_artifact(run.id, bad, src)
        assert b.artifacts.list_artifacts(run.id) == []
