"""The SDK lists with `list` in every area: `relay.pipelines.list()` as `relay.datasets.list()`."""

from __future__ import annotations

from pathlib import Path

import pytest

import relayml as relay


@relay.step
def one() -> int:
    return 1


@relay.pipeline
def listed() -> None:
    one()


def test_pipelines_list_like_datasets_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("RELAY_DATABASE_URL", "RELAY_ARTIFACT_URI", "RELAY_SERVER_URL", "RELAY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RELAY_HOME", str(tmp_path / ".relay"))
    monkeypatch.chdir(tmp_path)
    relay.init(project="verbs")
    relay.pipelines.register(listed)
    assert [p.name for p in relay.pipelines.list()] == ["listed"]
    assert relay.datasets.list() == []
    assert "list" in relay.pipelines.__all__ and not hasattr(relay.pipelines, "ls")
