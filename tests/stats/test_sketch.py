"""Sketches: partitions merge to the whole, and they round-trip through JSON."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

import relayml.drift as drift
from relayml.stats.sketch import NumericSketch, TableSketch

from .conftest import planted


def test_partitions_on_shared_edges_merge_exactly() -> None:
    whole = planted(30_000, 7, False)
    table = pa.Table.from_pandas(whole, preserve_index=False)
    full = drift.summarize(table)
    parts = [drift.summarize(table.slice(i, 10_000), like=full) for i in range(0, 30_000, 10_000)]
    merged = parts[0].merge(parts[1]).merge(parts[2])
    whole_on_edges = drift.summarize(table, like=full)
    for name, sk in whole_on_edges.columns.items():
        other = merged.columns[name]
        assert other.to_dict().keys() == sk.to_dict().keys()
        for key, value in sk.to_dict().items():
            if key in {"mean", "m2"}:
                assert np.isclose(value, other.to_dict()[key], rtol=1e-9)
            else:
                assert value == other.to_dict()[key], (name, key)


def test_partition_edges_give_a_reported_bound() -> None:
    """Edges from the first partition only: the merged KS error bound stays small and known."""
    table = pa.Table.from_pandas(planted(40_000, 8, False), preserve_index=False)
    first = drift.summarize(table.slice(0, 10_000))
    merged = first
    for i in range(10_000, 40_000, 10_000):
        merged = merged.merge(drift.summarize(table.slice(i, 10_000), like=first))
    sk = merged.columns["normal"]
    assert isinstance(sk, NumericSketch) and sk.n == 40_000
    assert sk.ks_error_bound() < 3 / 2048


def test_sketch_round_trips_through_json_and_compares_the_same() -> None:
    ref, cur = planted(5_000, 1, False), planted(5_000, 2, True)
    sketch = drift.summarize(ref)
    restored = TableSketch.from_dict(json.loads(json.dumps(sketch.to_dict())))
    a = drift.compare(ref, cur)
    b = drift.compare(restored, cur)
    c = drift.compare(sketch.to_dict(), cur)
    assert a.drifted == b.drifted == c.drifted
    for name in a.columns:
        assert a[name].statistics == b[name].statistics


def test_current_summary_must_share_the_reference_bins() -> None:
    import pytest

    from relayml.errors import InvalidInput

    table = pa.Table.from_pandas(planted(20_000, 9, False), preserve_index=False)
    reference = drift.summarize(table.slice(0, 10_000))
    on_edges = drift.summarize(table.slice(10_000, 10_000), like=reference)
    assert drift.compare(reference, on_edges).drifted == []
    own_edges = drift.summarize(table.slice(10_000, 10_000))
    with pytest.raises(InvalidInput, match="like=reference_summary"):
        drift.compare(reference, own_edges)
