"""Batch scoring on a real local Ray (Ray Data): the same scored file as in this process, and a
worker's refusal of bad input reaches the caller as the same error, naming the column."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

import relayml as relay
from relayml.errors import InvalidInput
from relayml.scoring import METADATA_KEY
from tests.scoring.conftest import Workspace, features, write_parquet

# Ray Data warns about its own deprecated settings while it builds its context (not ours to fix)
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_ray_scores_a_parquet_and_a_csv_file_as_this_process_does(
    ray_cluster: Any, workspace: Workspace
) -> None:
    frame = features(2_500)
    source = write_parquet(frame, workspace.root / "input.parquet", row_group=800)
    here = relay.models.score("churn@staging", source, "here.parquet", batch_rows=1_000)
    on_ray = relay.models.score(
        "churn@staging", source, "ray.parquet", batch_rows=1_000, executor="ray"
    )
    assert (on_ray.rows, on_ray.executor, on_ray.version.digest) == (
        2_500, "ray", workspace.version.digest,
    )  # fmt: skip
    # the same rows in the same order, and the same version named in the metadata
    assert pq.read_table(on_ray.output).equals(pq.read_table(here.output))
    metadata = pq.read_schema(on_ray.output).metadata
    assert b'"digest": "' + workspace.version.digest.encode() in metadata[METADATA_KEY.encode()]

    csv = workspace.root / "input.csv"
    frame.to_csv(csv, index=False)
    from_csv = relay.models.score(
        "churn@1", csv, "csv.parquet", batch_rows=700, executor="ray", columns_out=["customer"]
    )
    scored = pq.read_table(from_csv.output)
    assert scored["customer"].to_pylist() == frame["customer"].tolist()
    assert np.array_equal(
        scored["prediction"].to_numpy(), workspace.model.predict(frame[["x1", "x2"]])
    )

    folder = workspace.root / "parts"
    folder.mkdir()
    for i, start in enumerate(range(0, 2_500, 1_000)):
        write_parquet(frame.iloc[start : start + 1_000], folder / f"part-{i}.parquet", 300)
    from_folder = relay.models.score("churn@1", folder, "folder.parquet", executor="ray")
    assert pq.read_table(from_folder.output).equals(pq.read_table(here.output))
    assert ray_cluster.is_initialized()  # a Ray the caller started is left running


def test_a_workers_refusal_reaches_the_caller_naming_the_column(
    ray_cluster: Any, workspace: Workspace
) -> None:
    frame = features(2_000)
    frame.loc[1_500, "x1"] = np.nan
    source = write_parquet(frame, workspace.root / "input.parquet")
    with pytest.raises(InvalidInput) as err:
        relay.models.score("churn@1", source, "scored.parquet", batch_rows=500, executor="ray")
    assert err.value.message.startswith("on Ray: column 'x1' has 1 null value(s)")
    assert sorted(p.name for p in workspace.root.iterdir()) == [".relay", "input.parquet"]
