"""Files are validated batch by batch with the same counts as the whole table; infer_contract;
property tests against NumPy references."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relayml.contracts import (
    Column,
    Contract,
    RowCount,
    Validator,
    infer_contract,
    load_contract,
    validate,
)
from relayml.contracts.sources import batches
from relayml.errors import InvalidInput, NotFound


def loans(n: int = 5_000, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    ids = np.arange(n)
    ids[10] = ids[n - 10]  # one duplicate pair, in different row groups
    amount = rng.uniform(0, 1000, n)
    amount[[5, 4000]] = -1
    null = np.zeros(n, bool)
    null[[7, 3000, 4999]] = True
    grade = rng.choice(["A", "B", "C"], n).astype(object)
    grade[[1, 2500]] = "Z"
    return pa.table({
        "loan_id": pa.array(ids),
        "amount": pa.array(amount, mask=null),
        "grade": pa.array(grade, pa.string()),
        "code": pa.array([f"L{i:06d}" if i % 1000 else "bad" for i in range(n)]),
    })  # fmt: skip


CONTRACT = Contract(columns=[
    Column("loan_id", type="int64", unique=True),
    Column("amount", type="float64", nullable=False, min=0, max=1000),
    Column("grade", type="string", allowed=("A", "B", "C")),
    Column("code", type="string", regex=r"^L\d{6}$"),
])  # fmt: skip
EXPECTED = {"loan_id.unique": 2, "amount.not_null": 3, "amount.range": 2, "grade.allowed": 2,
            "code.regex": 5}  # fmt: skip


def counts(report: Any) -> dict[str, int]:
    return {c.name: c.failing_count for c in report.checks if c.failing_count}


def test_parquet_file_is_streamed_by_row_group(tmp_path: Path) -> None:
    t = loans()
    path = tmp_path / "loans.parquet"
    pq.write_table(t, path, row_group_size=1_000)
    assert pq.ParquetFile(path).num_row_groups == 5
    seen = [b.num_rows for b in batches(path, batch_rows=1_000)]
    assert seen == [1_000] * 5
    streamed = validate(path, CONTRACT, batch_rows=1_000)
    whole = validate(t, CONTRACT)
    assert counts(streamed) == counts(whole) == EXPECTED
    assert streamed["loan_id.unique"].sample == [{"loan_id": 4990, "_count": 2}]
    assert streamed["amount.range"].sample[1]["_row"] == 4000
    assert validate(str(path), CONTRACT).rows == 5_000


def test_csv_file_is_streamed_by_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from relayml.tables import csv

    path = tmp_path / "loans.csv"
    pacsv.write_csv(loans(), path)
    monkeypatch.setattr(csv, "CSV_BLOCK", 16_384)
    assert len(list(batches(path))) > 5
    assert counts(validate(path, CONTRACT)) == EXPECTED


def test_csv_types_changing_after_the_first_block_are_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relayml.tables import csv

    path = tmp_path / "late.csv"
    path.write_text("n\n" + "1\n" * 20_000 + "1.5\n")  # integers, then a float far down
    monkeypatch.setattr(csv, "CSV_BLOCK", 16_384)
    with pytest.raises(InvalidInput) as err:
        validate(path, CONTRACT)
    assert (
        "column 'n' changed type at data row 20001: int64 before (inferred from the file's "
        "first 16 KB), float64 there ('1.5'). Give the column's type: --dtype n=float64"
    ) in err.value.message
    assert validate(path, CONTRACT, dtypes={"n": "float64"}).rows == 20_001


def test_bad_sources_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        validate(tmp_path / "nope.parquet", CONTRACT)
    with pytest.raises(InvalidInput, match="cannot validate a int"):
        validate(42, CONTRACT)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not parquet")
    with pytest.raises(InvalidInput, match="neither a Parquet nor a CSV"):
        validate(junk, CONTRACT)


def test_inferred_contract_accepts_its_own_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 3_000
    t = pa.table({
        "customer_id": pa.array(rng.permutation(n)),
        "score": pa.array(rng.normal(size=n)),
        "segment": pa.array(rng.choice(["retail", "sme", "corp"], n)),
        "note": pa.array([None if i % 3 else f"n{i}" for i in range(n)]),
        "active": pa.array(rng.integers(0, 2, n).astype(bool)),
        "ts": pa.array(np.datetime64("2026-01-01", "us") + np.arange(n).astype("timedelta64[s]")),
    })  # fmt: skip
    path = tmp_path / "customers.parquet"
    pq.write_table(t, path, row_group_size=500)
    c = infer_contract(path)
    assert c.name == "customers"
    cid = c.column("customer_id")
    assert (cid.type, cid.unique, cid.nullable, cid.min, cid.max) == ("int64", True, False, 0,
                                                                      n - 1)  # fmt: skip
    assert c.column("segment").allowed == ("corp", "retail", "sme")
    assert c.column("note").nullable and c.column("note").allowed is None
    assert c.column("active").allowed == (False, True)
    assert c.column("ts").type == "timestamp" and c.column("score").type == "float64"
    rows = c.checks[0]
    assert isinstance(rows, RowCount) and rows.min == n // 2 and rows.max == 2 * n
    assert validate(path, c).passed
    assert validate(t, load_contract(c.to_dict())).passed
    dup = pa.concat_tables([t, t.slice(0, 1)])
    assert infer_contract(dup).column("customer_id").unique is False


values = st.lists(st.one_of(st.none(), st.integers(-50, 50)), max_size=60)


@settings(max_examples=60, deadline=None)
@given(values, st.integers(-20, 20), st.integers(0, 40), st.integers(1, 7))
def test_range_matches_numpy(xs: list[int | None], lo: int, width: int, chunk: int) -> None:
    hi = lo + width
    arr = pa.array(xs, pa.int64())
    v = Validator(Contract(columns=[Column("x", min=lo, max=hi, nullable=False)]),
                  parallel=False)  # fmt: skip
    for b in pa.table({"x": arr}).to_batches(max_chunksize=chunk):
        v.update(b)
    r = v.report()
    present = np.array([x for x in xs if x is not None], dtype=np.int64)
    assert r["x.range"].failing_count == int(((present < lo) | (present > hi)).sum())
    assert r["x.not_null"].failing_count == xs.count(None)
    bad_rows = [i for i, x in enumerate(xs) if x is not None and not lo <= x <= hi]
    assert [s["_row"] for s in r["x.range"].sample] == bad_rows[:5]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-5, 5), st.integers(-(2**62), 2**62)),
                max_size=80), st.integers(1, 9))  # fmt: skip
def test_uniqueness_matches_numpy(xs: list[int | None], chunk: int) -> None:
    present = np.array([x for x in xs if x is not None], dtype=np.int64)
    _, inv, n = np.unique(present, return_inverse=True, return_counts=True)
    expected = int((n[inv] > 1).sum()) if len(present) else 0
    t = pa.table({"x": pa.array(xs, pa.int64()), "s": pa.array([None if x is None else str(x)
                                                                for x in xs])})  # fmt: skip
    v = Validator(Contract(columns=[Column("x", unique=True), Column("s", unique=True)]))
    for b in t.to_batches(max_chunksize=chunk):
        v.update(b)
    r = v.report()
    assert r["x.unique"].failing_count == expected
    assert r["s.unique"].failing_count == expected
