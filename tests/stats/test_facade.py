"""relay.drift.compare on every supported input, and its errors."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import relayml.drift as drift
from relayml.errors import InvalidInput
from relayml.stats import ColumnKind

from .conftest import SHIFTED


def test_pandas_pyarrow_and_parquet_agree(small_pair, tmp_path: Path) -> None:
    ref, cur = small_pair
    from_pandas = drift.compare(ref, cur)
    ref_t = pa.Table.from_pandas(ref, preserve_index=False)
    cur_t = pa.Table.from_pandas(cur, preserve_index=False)
    from_arrow = drift.compare(ref_t, cur_t)
    pq.write_table(ref_t, tmp_path / "ref.parquet")
    pq.write_table(cur_t, tmp_path / "cur.parquet")
    from_files = drift.compare(str(tmp_path / "ref.parquet"), tmp_path / "cur.parquet")
    assert from_pandas.drifted == from_arrow.drifted == from_files.drifted
    assert set(from_pandas.drifted) <= set(SHIFTED)
    assert from_pandas["flag"].kind is ColumnKind.BOOLEAN
    assert from_pandas["counts"].kind is ColumnKind.NUMERIC
    assert from_pandas["colour"].kind is ColumnKind.CATEGORICAL


def test_polars_input(small_pair) -> None:
    pl = pytest.importorskip("polars")
    ref, cur = small_pair
    report = drift.compare(pl.from_pandas(ref), pl.from_pandas(cur))
    assert report.drifted == drift.compare(ref, cur).drifted


def test_columns_and_categorical_override(small_pair) -> None:
    ref, cur = small_pair
    report = drift.compare(ref, cur, columns=["counts", "colour"], categorical=["counts"])
    assert list(report.columns) == ["counts", "colour"]
    assert report["counts"].kind is ColumnKind.CATEGORICAL


def test_datetime_column_is_compared() -> None:
    import pandas as pd

    ref = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=1000, freq="h")})
    cur = pd.DataFrame({"t": pd.date_range("2024-03-01", periods=1000, freq="h")})
    report = drift.compare(ref, cur)
    assert report["t"].kind is ColumnKind.DATETIME
    assert report.drifted == ["t"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"columns": ["nope"]}, "nope"),
        ({"categorical": ["nope"]}, "nope"),
        ({"bogus_option": 1.0}, "bogus_option"),
    ],
)
def test_bad_arguments_are_invalid_input(small_pair, kwargs, message) -> None:
    ref, cur = small_pair
    with pytest.raises(InvalidInput, match=message):
        drift.compare(ref, cur, **kwargs)


def test_bad_inputs_are_invalid_input(small_pair, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RELAY_HOME", str(tmp_path / ".relay"))  # a ref is looked up in a store
    monkeypatch.delenv("RELAY_SERVER_URL", raising=False)
    ref, cur = small_pair
    with pytest.raises(InvalidInput, match="loans@3"):
        drift.compare("loans@3", cur)
    with pytest.raises(InvalidInput, match="no rows"):
        drift.compare(ref.iloc[:0], cur)
    with pytest.raises(InvalidInput, match="lacks column"):
        drift.compare(ref, cur.drop(columns=["normal"]))
    with pytest.raises(InvalidInput, match="numeric in the reference"):
        drift.compare(ref, cur.assign(normal="x"))
    with pytest.raises(InvalidInput, match="cannot compare"):
        drift.compare(ref, [1, 2, 3])


def test_classifier_sees_joint_shift() -> None:
    pytest.importorskip("sklearn")
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 1_500
    x = rng.normal(size=n)
    ref = pd.DataFrame({"a": x, "b": x + rng.normal(0, 0.1, n)})
    y = rng.normal(size=n)
    cur = pd.DataFrame({"a": y, "b": -y + rng.normal(0, 0.1, n)})  # same marginals, new joint
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # OpenMP threads crawl on a busy 2-core machine
        report = drift.compare(ref, cur, classifier=True)
    assert report.drifted == []
    assert report.classifier is not None and report.classifier.drifted
    assert report.any_drift
