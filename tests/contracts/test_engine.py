"""Every kind of check, passing and failing, through Validator/validate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from relayml.contracts import (
    CheckResult,
    Column,
    Contract,
    CustomCheck,
    Freshness,
    QualityReport,
    RowCount,
    UniqueKey,
    Validator,
    validate,
)
from relayml.errors import UserCodeError


def table(**cols: Any) -> pa.Table:
    return pa.table({k: pa.array(v) for k, v in cols.items()})


def check(report: QualityReport, name: str) -> CheckResult:
    return report[name]


def test_not_null_counts_nulls_only_when_not_nullable() -> None:
    t = table(a=[1.0, None, 3.0, None], b=[None, None, 1.0, 2.0])
    r = validate(t, Contract(columns=[Column("a", nullable=False), Column("b")]))
    c = r["a.not_null"]
    assert (c.passed, c.failing_count, c.failing_fraction) == (False, 2, 0.5)
    assert [s["_row"] for s in c.sample] == [1, 3]
    assert c.sample[0] == {"_row": 1, "a": None, "b": None}
    assert "b.not_null" not in r.names()
    assert not r.passed
    assert validate(table(a=[1.0]), Contract(columns=[Column("a", nullable=False)])).passed


def test_range_ignores_nulls_and_fails_nan() -> None:
    t = table(x=[0.0, 5.0, 10.0, 11.0, -1.0, None, float("nan")])
    r = validate(t, Contract(columns=[Column("x", min=0, max=10)]))
    assert r["x.range"].failing_count == 3
    assert [s["x"] for s in r["x.range"].sample] == [11.0, -1.0, "NaN"]
    only_min = validate(t, Contract(columns=[Column("x", min=5)]))
    assert only_min["x.range"].failing_count == 3  # 0, -1, NaN
    ok = validate(table(x=[1, 2, None]), Contract(columns=[Column("x", min=1, max=2)]))
    assert ok.passed and ok["x.range"].message == ""


def test_range_on_timestamps_with_text_bounds() -> None:
    t = table(ts=[datetime(2026, 1, 1), datetime(2027, 6, 1)])
    r = validate(t, Contract(columns=[Column("ts", min="2025-01-01", max="2026-12-31")]))
    assert r["ts.range"].failing_count == 1
    assert r["ts.range"].sample[0]["ts"] == "2027-06-01T00:00:00"


def test_allowed_values() -> None:
    t = pa.table({"g": pa.array(["A", "B", "Z", None, "A"]),
                  "d": pa.array(["x", "y", "x", "q", None]).dictionary_encode(),
                  "n": pa.array([1, 2, 3, 4, 5], pa.int32())})  # fmt: skip
    c = Contract(columns=[Column("g", allowed=("A", "B")), Column("d", allowed=("x", "y")),
                          Column("n", allowed=(1, 2, 3, 4, 5))])  # fmt: skip
    r = validate(t, c)
    assert r["g.allowed"].failing_count == 1 and r["g.allowed"].sample[0]["g"] == "Z"
    assert r["d.allowed"].failing_count == 1 and r["d.allowed"].sample[0]["_row"] == 3
    assert r["n.allowed"].passed
    assert "not in ['A', 'B']" in r["g.allowed"].message


def test_regex_is_a_search_anchor_it_yourself() -> None:
    t = table(code=["ABC-123456", "abc-123456", "xABC-123456", None, "ABC-1234567"])
    r = validate(t, Contract(columns=[Column("code", regex=r"^[A-Z]{3}-\d{6}$")]))
    assert r["code.regex"].failing_count == 3
    unanchored = validate(t, Contract(columns=[Column("code", regex=r"[A-Z]{3}-\d{6}")]))
    assert unanchored["code.regex"].failing_count == 1


def test_type_and_missing_columns_fail_every_row() -> None:
    t = table(a=[1, 2, 3], s=["x", "y", "z"])
    c = Contract(columns=[Column("a", type="float64"), Column("s", type="string"),
                          Column("gone", type="int64", nullable=False, min=0)])  # fmt: skip
    r = validate(t, c)
    assert r["a.type"].failing_count == 3 and "has type int64, expected float64" in \
        r["a.type"].message  # fmt: skip
    assert r["s.type"].passed
    for name in ("gone.type", "gone.not_null", "gone.range"):
        assert r[name].failing_count == 3 and "missing" in r[name].message
    assert validate(t, Contract(columns=[Column("a", type="integer"),
                                         Column("a2", type=None)]))["a.type"].passed  # fmt: skip


def test_uniqueness_counts_every_occurrence_across_batches() -> None:
    v = Validator(Contract(columns=[Column("id", unique=True), Column("s", unique=True)]))
    v.update(pa.record_batch({"id": [1, 2, 3, None], "s": ["a", "b", "c", None]}))
    v.update(pa.record_batch({"id": [4, 2, 5, None], "s": ["d", "e", "a", None]}))
    v.update(pa.table({"id": [6, 2, 7, 7], "s": ["f", "g", "h", "i"]}))
    r = v.report()
    assert r["id.unique"].failing_count == 5  # 2 three times, 7 twice; nulls ignored
    assert r["id.unique"].sample == [{"id": 2, "_count": 3}, {"id": 7, "_count": 2}]
    assert r["s.unique"].failing_count == 2
    assert r["s.unique"].sample == [{"s": "a", "_count": 2}]
    assert r.rows == 12
    assert v.report().checks == r.checks  # report() can be asked again


def test_unique_key_combinations() -> None:
    t = table(c=[1, 1, 1, 2, 2, None], m=["jan", "feb", "jan", "jan", None, None])
    r = validate(t, Contract(checks=[UniqueKey(("c", "m"))]))
    res = r["unique(c, m)"]
    assert (res.kind, res.failing_count) == ("unique_key", 2)
    assert res.sample == [{"c": 1, "m": "jan", "_count": 2}]
    assert validate(t.slice(1, 3), Contract(checks=[UniqueKey(("c", "m"))])).passed


def test_row_count() -> None:
    t = table(a=list(range(10)))
    assert validate(t, Contract(checks=[RowCount(min=5, max=10)])).passed
    low = validate(t, Contract(checks=[RowCount(min=11)]))
    assert not low.passed and low["row_count"].message == "10 rows, expected at least 11"
    high = validate(t, Contract(checks=[RowCount(max=9)]))
    assert high["row_count"].message == "10 rows, expected at most 9"


def test_freshness() -> None:
    now = datetime.now(UTC)
    fresh = pa.table({"t": pa.array([now - timedelta(days=3), now - timedelta(hours=1)])})
    stale = pa.table({"t": pa.array([now - timedelta(days=3)])})
    naive = pa.table({"t": pa.array([datetime(2020, 1, 1)])})
    contract = Contract(checks=[Freshness("t", "1d")])
    assert validate(fresh, contract).passed
    r = validate(stale, contract)
    assert not r.passed and "older than 1d" in r["freshness(t)"].message
    assert not validate(naive, contract).passed
    dates = pa.table({"t": pa.array([now.date()])})
    assert validate(dates, Contract(checks=[Freshness("t", "2d")])).passed
    wrong = validate(table(t=[1]), contract)
    assert "expected a timestamp" in wrong["freshness(t)"].message


def test_severity_warn_does_not_fail_the_report() -> None:
    t = table(a=[1, 2, 200])
    warn = validate(t, Contract(columns=[Column("a", max=100, severity="warn")]))
    assert warn.passed and not warn["a.range"].passed and warn.warnings and not warn.errors
    per_check = Column("a", max=100, nullable=False, severities={"range": "warn"})
    assert validate(t, Contract(columns=[per_check])).passed
    err = validate(t, Contract(columns=[Column("a", max=100)]))
    assert not err.passed and err.errors[0].name == "a.range"
    assert err.summary().startswith("FAILED: 3 rows")


def test_custom_python_check_gets_each_batch() -> None:
    seen: list[int] = []

    def positive(batch: Any) -> Any:
        seen.append(batch.num_rows)
        return pc.greater(batch.column("a"), 0)

    c = Contract(
        columns=[Column("a", custom=(CustomCheck("positive", positive, column="a"),))],
        checks=[CustomCheck("numpy_mask", lambda b: np.ones(b.num_rows, bool))],
    )
    v = Validator(c)
    v.update(pa.record_batch({"a": [1, -1, 2]}))
    v.update(pa.record_batch({"a": [None, 3]}))
    r = v.report()
    assert seen == [3, 2]
    assert r["positive"].failing_count == 2  # -1, and null (not shown valid)
    assert [s["_row"] for s in r["positive"].sample] == [1, 3]
    assert r["positive"].column == "a" and r["numpy_mask"].passed


def test_custom_check_that_raises_is_the_users_error() -> None:
    def broken(batch: Any) -> Any:
        return 1 / 0

    with pytest.raises(UserCodeError) as err:
        validate(table(a=[1]), Contract(checks=[CustomCheck("broken", broken)]))
    assert "custom check 'broken'" in err.value.message and "ZeroDivisionError" in \
        err.value.message  # fmt: skip
    assert "return 1 / 0" in err.value.user_traceback
    assert err.value.exit_code == 10
    with pytest.raises(UserCodeError, match="must return a boolean mask"):
        validate(table(a=[1, 2]), Contract(checks=[CustomCheck("short", lambda b: [True])]))


def test_samples_are_bounded_and_report_round_trips() -> None:
    t = table(a=[None] * 50 + [1.0] * 50)
    v = Validator(Contract(columns=[Column("a", nullable=False)]))
    for b in t.to_batches(max_chunksize=7):
        v.update(b)
    r = v.report()
    c = r["a.not_null"]
    assert (c.failing_count, c.failing_fraction, len(c.sample)) == (50, 0.5, 5)
    assert [s["_row"] for s in c.sample] == [0, 1, 2, 3, 4]
    again = QualityReport.from_dict(r.to_dict())
    assert again == r and again.passed is False
    assert r.to_dict()["passed"] is False and r.to_dict()["rows"] == 100


def test_inputs_pandas_and_record_batches() -> None:
    import pandas as pd

    df = pd.DataFrame({"a": [1, None, 3], "s": ["x", "y", None]})
    c = Contract(columns=[Column("a", nullable=False), Column("s", nullable=False)])
    r = validate(df, c)
    assert (r["a.not_null"].failing_count, r["s.not_null"].failing_count) == (1, 1)
    assert validate(pa.table(df).to_batches(), c).rows == 3


def test_parallel_and_serial_give_the_same_report() -> None:
    rng = np.random.default_rng(3)
    n = 200_000
    t = pa.table({"id": rng.integers(0, n, n), "x": pa.array(rng.normal(size=n)),
                  "s": pa.array(rng.choice(["a", "b", "c", "d"], n))})  # fmt: skip
    c = Contract(columns=[Column("id", unique=True), Column("x", min=-2, max=2),
                          Column("s", allowed=("a", "b", "c"), regex="^[ab]$")])  # fmt: skip
    a, b = Validator(c, parallel=True), Validator(c, parallel=False)
    a.update(t)
    b.update(t)
    ra, rb = a.report(), b.report()
    assert [x.to_dict() for x in ra.checks] == [x.to_dict() for x in rb.checks]
    ids = t["id"].to_numpy()
    _, inv, counts = np.unique(ids, return_inverse=True, return_counts=True)
    assert ra["id.unique"].failing_count == int((counts[inv] > 1).sum())


def test_pandas_and_polars_frames_give_the_same_report() -> None:
    import pandas as pd
    import polars as pl

    frame = pd.DataFrame({"g": ["A", "B", "Z", None, "A"], "n": [1.0, -2.0, 3.0, None, 5.0]})
    c = Contract(columns=[Column("g", allowed=("A", "B")), Column("n", min=0, nullable=False)])
    from_pandas = validate(frame, c)
    from_polars = validate(pl.from_pandas(frame), c)
    assert from_pandas.to_dict()["checks"] == from_polars.to_dict()["checks"]
    assert from_polars["g.allowed"].failing_count == 1
    assert from_polars["n.range"].failing_count == 1
    assert from_polars["n.not_null"].failing_count == 1
