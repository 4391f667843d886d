"""A workspace with a registered classifier (churn@1, alias staging) and tables to score."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import relayml as relay
from relayml.sdk import session


def features(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer": [f"c{i:07d}" for i in range(n)],
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "region": np.where(rng.random(n) < 0.3, "north", "south"),
        }
    )


def write_parquet(frame: pd.DataFrame, path: Path, row_group: int = 1_000) -> Path:
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=row_group
    )
    return path


@dataclass
class Workspace:
    root: Path
    home: Path
    model: Any  # the fitted scikit-learn pipeline that was registered
    version: Any  # its ModelVersion


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    for var in ("RELAY_DATABASE_URL", "RELAY_ARTIFACT_URI", "RELAY_SERVER_URL", "RELAY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / ".relay"
    monkeypatch.setenv("RELAY_HOME", str(home))
    monkeypatch.setenv("RELAY_USER", "admin")
    monkeypatch.chdir(tmp_path)
    session.reset()
    relay.init("churn", home=home)
    train = features(600, seed=0)
    y = ((train.x1 - train.x2) > 0).astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(train[["x1", "x2"]], y)
    version = relay.models.register("churn", model, input_example=train[["x1", "x2"]][:5])
    relay.models.set_alias(version.ref, "staging")
    yield Workspace(tmp_path, home, model, version)
    session.reset()
