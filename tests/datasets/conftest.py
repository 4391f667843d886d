from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from relayml.sdk import session


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The SDK in embedded mode in a fresh directory, as the local admin."""
    for var in ("RELAY_DATABASE_URL", "RELAY_ARTIFACT_URI", "RELAY_SERVER_URL", "RELAY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RELAY_HOME", str(tmp_path / ".relay"))
    monkeypatch.setenv("RELAY_USER", "engineer")
    monkeypatch.chdir(tmp_path)
    session.reset()
    import relayml as relay

    relay.init(project="data")
    yield tmp_path
    session.reset()
