"""The Ray executor on a real local Ray: the same pipeline gives the same results as local."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relayml.client.base import Backend
from relayml.domain.pipelines import StepStatus
from relayml.domain.tracking import RunStatus
from relayml.errors import UserCodeError
from relayml.pipelines.runner import run_pipeline
from tests.pipelines.conftest import WriteModule, assert_process_exits
from tests.pipelines.test_runner import RETRIES

SAME = """
import pyarrow as pa
import relayml as relay

@relay.step
def numbers(n: int) -> pa.Table:
    return pa.table({"x": list(range(n))})

@relay.step
def squares(t: pa.Table) -> pa.Table:
    import pyarrow.compute as pc
    return t.append_column("sq", pc.multiply(t.column("x"), t.column("x")))

@relay.step
def total(t: pa.Table) -> int:
    print("summing", t.num_rows)
    return sum(t.column("sq").to_pylist())

@relay.step
def explode(t: pa.Table) -> int:
    raise RuntimeError(f"bad table of {t.num_rows} rows")

@relay.pipeline
def same(n: int = 5):
    t = numbers(n)
    total(squares(t))
    explode(t)
"""


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def _summary(run: Any) -> dict[str, Any]:
    return {
        s.name: (s.status.value, s.output.digest if s.output else None, s.error) for s in run.steps
    }


def test_same_results_on_ray_and_local(
    ray_cluster: Any, backend: Backend, write_module: WriteModule
) -> None:
    ref = write_module(SAME) + ":same"
    local = run_pipeline(backend, ref, project="etl", executor="local")
    backend.identity.ensure_project("on-ray")
    on_ray = run_pipeline(backend, ref, project="on-ray", executor="ray")
    assert on_ray.executor == "ray" and local.executor == "local"
    assert on_ray.status is local.status is RunStatus.FAILED
    assert _summary(on_ray) == _summary(local)  # same outputs, byte for byte (same digests)
    assert on_ray.step("total").output.value == sum(x * x for x in range(5))  # type: ignore[union-attr]
    with pytest.raises(UserCodeError) as caught:
        on_ray.raise_for_status()
    assert "RuntimeError: bad table of 5 rows" in caught.value.user_traceback
    assert "in explode" in caught.value.user_traceback
    log = backend.pipelines.get_run(on_ray.id).step("total").logs_digest
    assert log is not None and log == local.step("total").logs_digest  # "summing 5\n" on both


def test_a_step_over_its_timeout_is_killed_on_ray(
    ray_cluster: Any, backend: Backend, write_module: WriteModule, tmp_path: Path
) -> None:
    """The timed-out attempt's Ray task is cancelled with force: its worker process dies."""
    pidfile = tmp_path / "pid"
    started = time.monotonic()
    run = run_pipeline(
        backend,
        write_module(RETRIES) + ":sleepy",
        project="etl",
        params={"pidfile": str(pidfile)},
        executor="ray",
    )
    assert time.monotonic() - started < 300  # the step sleeps 600 s: it was killed, not awaited
    step = run.step("slow")
    assert step.status is StepStatus.FAILED and run.status is RunStatus.FAILED
    assert "longer than its timeout of 1 s and was killed" in (step.error or "")
    what = "the Ray worker running the step"
    assert_process_exits(int(pidfile.read_text()), within=10, what=what)


def test_drift_summaries_of_partitions_on_ray_merge_to_the_whole(ray_cluster: Any) -> None:
    """Monitoring at scale: each Ray task summarises its partition on the reference's bin edges;
    the merged summary gives the same drift decisions as summarising everything in one place."""
    import numpy as np
    import pandas as pd

    import relayml.drift as drift
    from relayml.stats.sketch import TableSketch

    rng = np.random.default_rng(3)
    n = 40_000
    reference = pd.DataFrame(
        {"income": rng.lognormal(10, 0.5, n), "city": rng.choice(["a", "b", "c"], n)}
    )
    current = reference.sample(frac=1.0, random_state=4).reset_index(drop=True)
    current["income"] *= 1.1
    edges = drift.summarize(reference)

    @ray_cluster.remote
    def summarize_part(part: pd.DataFrame, like: dict[str, Any]) -> dict[str, Any]:
        return drift.summarize(part, like=TableSketch.from_dict(like)).to_dict()

    like = edges.to_dict()
    parts = [current.iloc[i : i + 10_000] for i in range(0, n, 10_000)]
    sketches = ray_cluster.get([summarize_part.remote(p, like) for p in parts])
    merged = TableSketch.from_dict(sketches[0])
    for s in sketches[1:]:
        merged = merged.merge(TableSketch.from_dict(s))

    whole = drift.summarize(current, like=edges)
    assert merged.to_dict()["columns"].keys() == whole.to_dict()["columns"].keys()
    on_ray = drift.compare(edges, merged)
    in_one_place = drift.compare(edges, whole)
    assert on_ray.drifted == in_one_place.drifted == ["income"]
    assert on_ray["income"].statistics == pytest.approx(in_one_place["income"].statistics)
