"""The validation engine: a contract compiled to vectorised Arrow compute, one pass per batch.

`Validator(contract)` turns every check into a small evaluator; `update(batch)` runs all of them
on the batch (in a thread pool: Arrow kernels release the GIL), keeping only counts, bounded
samples and the distinct-value state uniqueness needs; `report()` returns the QualityReport.
Failing rows are counted from masks with Arrow kernels; rows are materialised only for the first
few failures of a check (the sample). Custom checks run inside a user-code boundary.

Null handling: only `nullable: false` counts nulls; range, allowed, regex and uniqueness checks
ignore null values (as SQL constraints do). NaN fails a range check.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from relayml.contracts.dtypes import matches, read_types
from relayml.contracts.parse import load_contract
from relayml.contracts.report import SAMPLE_ROWS, CheckResult, QualityReport
from relayml.contracts.sources import BATCH_ROWS, batches
from relayml.contracts.spec import Column, Contract, CustomCheck, Freshness, RowCount, UniqueKey
from relayml.contracts.uniqueness import GroupCounter, NumericCounter
from relayml.domain.durations import parse_duration
from relayml.domain.numbers import encode_float
from relayml.errors import InvalidInput, UserCodeError

PARALLEL_MIN_ROWS = 65_536
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            workers = max(1, min(8, os.cpu_count() or 1))
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="relay-contracts")
        return _pool


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, datetime) or hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class _Eval:
    """One check's running state."""

    def __init__(self, name: str, kind: str, column: str | None, severity: str) -> None:
        self.name, self.kind, self.column, self.severity = name, kind, column, severity
        self.failing = 0
        self.sample: list[dict[str, Any]] = []
        self.problem = ""  # set when the check cannot be evaluated (missing column, wrong type)

    def update(self, batch: pa.RecordBatch, offset: int) -> None:
        raise NotImplementedError

    def keep_sample(self, batch: pa.RecordBatch, offset: int, failing_mask: Any) -> None:
        need = SAMPLE_ROWS - len(self.sample)
        if need <= 0:
            return
        mask = failing_mask.fill_null(False).to_numpy(zero_copy_only=False)
        idx = np.flatnonzero(mask)[:need]
        for i, row in zip(idx, batch.take(pa.array(idx)).to_pylist(), strict=True):
            self.sample.append({"_row": offset + int(i), **_jsonable(row)})

    def describe(self, rows: int) -> str:
        return f"{self.failing:,} of {rows:,} rows failed"

    def finish(self, rows: int) -> CheckResult:
        passed = self.failing == 0 and not self.problem
        message = self.problem or ("" if passed else self.describe(rows))
        return self.result(rows, passed, message)

    def result(self, rows: int, passed: bool, message: str) -> CheckResult:
        return CheckResult(
            name=self.name,
            kind=self.kind,
            column=self.column,
            severity=self.severity,
            passed=passed,
            failing_count=self.failing,
            failing_fraction=self.failing / rows if rows else 0.0,
            sample=self.sample,
            message=message,
        )


class _ColumnEval(_Eval):
    """A row-level check of one column: counts failures, samples only when some fail."""

    def __init__(self, spec: Column, name: str, kind: str, column: str, severity: str) -> None:
        super().__init__(name, kind, column, severity)
        self.spec = spec

    def column_of(self, batch: pa.RecordBatch) -> pa.Array | None:
        """The checked column of `batch`; None (every row failing) when it is missing."""
        i = batch.schema.get_field_index(self.column or "")
        if i < 0:
            self.problem = f"column {self.column!r} is missing from the data"
            self.failing += batch.num_rows
            return None
        return batch.column(i)

    def update(self, batch: pa.RecordBatch, offset: int) -> None:
        col = self.column_of(batch)
        if col is None:
            return
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        bad = self.count(col)
        if bad:
            self.failing += bad
            if len(self.sample) < SAMPLE_ROWS:
                self.keep_sample(batch, offset, self.mask(col))

    def count(self, col: Any) -> int:
        raise NotImplementedError

    def mask(self, col: Any) -> Any:
        raise NotImplementedError


class _Type(_ColumnEval):
    def __init__(self, spec: Column, *args: Any) -> None:
        super().__init__(spec, *args)
        self.declared = spec.type

    def update(self, batch: pa.RecordBatch, offset: int) -> None:
        field = batch.schema.field(self.column) if self.column in batch.schema.names else None
        if field is None:
            self.problem = f"column {self.column!r} is missing from the data"
        elif self.declared is not None and not matches(self.declared, field.type):
            self.problem = f"column {self.column!r} has type {field.type}, expected {self.declared}"
        else:
            return
        self.failing += batch.num_rows


class _NotNull(_ColumnEval):
    def count(self, col: Any) -> int:
        return int(col.null_count)

    def mask(self, col: Any) -> Any:
        return pc.is_null(col)

    def describe(self, rows: int) -> str:
        return f"{self.failing:,} of {rows:,} rows are null"


class _Valid(_ColumnEval):
    """Checks defined by a `valid(col)` boolean array; nulls in the column are not counted."""

    def valid(self, col: Any) -> Any:
        raise NotImplementedError

    def count(self, col: Any) -> int:
        self._last = ok = self.valid(col)
        good = pc.sum(ok).as_py() or 0
        return int(len(col) - col.null_count - good)

    def mask(self, col: Any) -> Any:
        return pc.and_(pc.invert(self._last.fill_null(True)), pc.is_valid(col))


class _Range(_Valid):
    def __init__(self, spec: Column, *args: Any) -> None:
        super().__init__(spec, *args)
        self.lo, self.hi = spec.min, spec.max
        self._bounds: dict[Any, tuple[Any, Any]] = {}

    def bounds(self, t: Any) -> tuple[Any, Any]:
        if t not in self._bounds:

            def conv(v: Any) -> Any:  # dates/times written as text compare as the column type
                if v is None or not isinstance(v, str) or pa.types.is_string(t):
                    return v
                try:
                    return pa.scalar(v).cast(t)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    raise InvalidInput(
                        f"range bound {v!r} of column {self.column!r} cannot be "
                        f"read as {t}; write it as a {t} value"
                    ) from None

            self._bounds[t] = (conv(self.lo), conv(self.hi))
        return self._bounds[t]

    def valid(self, col: Any) -> Any:
        lo, hi = self.bounds(col.type)
        ok = None if lo is None else pc.greater_equal(col, lo)
        if hi is not None:
            upper = pc.less_equal(col, hi)
            ok = upper if ok is None else pc.and_(ok, upper)
        return ok

    def describe(self, rows: int) -> str:
        return f"{self.failing:,} of {rows:,} rows outside [{self.lo}, {self.hi}]"


class _Allowed(_Valid):
    def __init__(self, spec: Column, *args: Any) -> None:
        super().__init__(spec, *args)
        self.values = [v for v in spec.allowed or () if v is not None]
        self._sets: dict[Any, Any] = {}

    def valid(self, col: Any) -> Any:
        if col.type not in self._sets:
            raw = pa.array(self.values)
            try:
                self._sets[col.type] = raw.cast(col.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                self._sets[col.type] = raw
        return pc.is_in(col, value_set=self._sets[col.type], skip_nulls=True)

    def describe(self, rows: int) -> str:
        shown = ", ".join(map(repr, self.values[:10])) + (" ..." if len(self.values) > 10 else "")
        return f"{self.failing:,} of {rows:,} rows not in [{shown}]"


class _Regex(_Valid):
    def __init__(self, spec: Column, *args: Any) -> None:
        super().__init__(spec, *args)
        self.pattern = spec.regex or ""

    def valid(self, col: Any) -> Any:
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            col = col.cast(pa.string())
        try:
            return pc.match_substring_regex(col, self.pattern)
        except pa.ArrowInvalid as exc:
            raise InvalidInput(
                f"regex {self.pattern!r} of column {self.column!r} is not "
                f"supported by Arrow's RE2 engine: {exc}"
            ) from None

    def describe(self, rows: int) -> str:
        return f"{self.failing:,} of {rows:,} rows do not match {self.pattern!r}"


class _Unique(_ColumnEval):
    def __init__(self, spec: Column, *args: Any) -> None:
        super().__init__(spec, *args)
        self.numeric: NumericCounter | None = None
        self.group: GroupCounter | None = None

    def update(self, batch: pa.RecordBatch, offset: int) -> None:
        col = self.column_of(batch)
        if col is None:
            return
        t = col.type
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_temporal(t):
            self.numeric = self.numeric or NumericCounter()
            values = col.drop_null() if col.null_count else col
            if pa.types.is_temporal(t):
                values = values.view(pa.int64()) if t.bit_width == 64 else values.cast(pa.int64())
            self.numeric.add(values.to_numpy())
        else:
            self.group = self.group or GroupCounter([self.column or ""])
            self.group.add(pa.table({self.column: col}))

    def finish(self, rows: int) -> CheckResult:
        missing, self.sample = self.failing, []
        if self.numeric is not None:
            count, pairs = self.numeric.duplicates()
            self.failing += count
            self.sample = [{self.column or "": v, "_count": n} for v, n in pairs]
        if self.group is not None:
            count, sample = self.group.duplicates()
            self.failing += count
            self.sample = [_jsonable(r) for r in sample]
        try:
            return super().finish(rows)
        finally:
            self.failing = missing

    def describe(self, rows: int) -> str:
        return f"{self.failing:,} of {rows:,} rows share their value with another row"


class _Custom(_Eval):
    def __init__(self, check: CustomCheck) -> None:
        super().__init__(check.name, "custom", check.column, check.severity)
        self.check = check

    def update(self, batch: pa.RecordBatch, offset: int) -> None:
        assert self.check.fn is not None
        try:
            result = self.check.fn(batch)
        except Exception as exc:
            raise UserCodeError(
                f"custom check {self.name!r} ({self.check.reference}) raised "
                f"{type(exc).__name__}: {exc}",
                user_traceback=traceback.format_exc(),
                check=self.name,
            ) from exc
        ok = self._as_mask(result, batch.num_rows)
        bad = batch.num_rows - int(pc.sum(ok.fill_null(False)).as_py() or 0)
        if bad:
            self.failing += bad
            self.keep_sample(batch, offset, pc.invert(ok.fill_null(False)))

    def _as_mask(self, result: Any, rows: int) -> Any:
        if isinstance(result, pa.ChunkedArray):
            result = result.combine_chunks()
        if not isinstance(result, pa.Array):
            try:
                result = pa.array(np.asarray(result), type=pa.bool_())
            except (pa.ArrowException, ValueError, TypeError):
                result = None
        if result is None or not pa.types.is_boolean(result.type) or len(result) != rows:
            got = "nothing usable" if result is None else f"{result.type} of length {len(result)}"
            raise UserCodeError(
                f"custom check {self.name!r} returned {got}; it must return a boolean mask "
                f"with one value per row ({rows}), True where the row is valid"
            )
        return result


class _RowCount(_Eval):
    def __init__(self, check: RowCount) -> None:
        super().__init__("row_count", "row_count", None, check.severity)
        self.check = check

    def update(self, batch: pa.RecordBatch, offset: int) -> None:
        pass

    def finish(self, rows: int) -> CheckResult:
        lo, hi = self.check.min, self.check.max
        self.problem = ""
        if lo is not None and rows < lo:
            self.problem = f"{rows:,} rows, expected at least {lo:,}"
        elif hi is not None and rows > hi:
            self.problem = f"{rows:,} rows, expected at most {hi:,}"
        return super().finish(rows)


class _Freshness(_Eval):
    def __init__(self, check: Freshness) -> None:
        super().__init__(f"freshness({check.column})", "freshness", check.column, check.severity)
        self.max_age = parse_duration(check.max_age)
        self.text = check.max_age
        self.newest: int | None = None  # microseconds since the epoch, UTC

    def update(self, batch: pa.RecordBatch, offset: int) -> None:
        if self.column not in batch.schema.names:
            self.problem = f"column {self.column!r} is missing from the data"
            return
        col = batch.column(self.column)
        t = col.type
        if pa.types.is_date(t):
            col = col.cast(pa.timestamp("us"))
        elif not pa.types.is_timestamp(t):
            self.problem = f"column {self.column!r} has type {t}, expected a timestamp or date"
            return
        newest = pc.max(col.cast(pa.timestamp("us", tz=getattr(col.type, "tz", None)))).value
        if newest is not None and (self.newest is None or newest > self.newest):
            self.newest = newest

    def finish(self, rows: int) -> CheckResult:
        if not self.problem:
            now = datetime.now(UTC).timestamp() * 1e6
            if self.newest is None:
                self.problem = f"column {self.column!r} has no values, so it is not fresh"
            elif now - self.newest > self.max_age * 1e6:
                newest = datetime.fromtimestamp(self.newest / 1e6, UTC).isoformat()
                self.problem = f"newest {self.column} is {newest}, older than {self.text}"
        return super().finish(rows)


class _UniqueKey(_Eval):
    def __init__(self, check: UniqueKey) -> None:
        super().__init__(f"unique({', '.join(check.columns)})", "unique_key", None,
                         check.severity)  # fmt: skip
        self.columns = list(check.columns)
        self.counter = GroupCounter(self.columns)

    def update(self, batch: pa.RecordBatch, offset: int) -> None:
        missing = [c for c in self.columns if c not in batch.schema.names]
        if missing:
            self.problem = f"key column(s) {missing} missing from the data"
            return
        self.counter.add(pa.table({c: batch.column(c) for c in self.columns}))

    def finish(self, rows: int) -> CheckResult:
        count, sample = self.counter.duplicates()
        self.failing = count
        self.sample = [_jsonable(r) for r in sample]
        return super().finish(rows)

    def describe(self, rows: int) -> str:
        return f"{self.failing:,} of {rows:,} rows share their key with another row"


_COLUMN_EVALS: dict[str, type[_ColumnEval]] = {
    "type": _Type, "not_null": _NotNull, "unique": _Unique, "range": _Range,
    "allowed": _Allowed, "regex": _Regex,
}  # fmt: skip


def compile_contract(contract: Contract) -> list[_Eval]:
    """One evaluator per check, in report order: columns first, then table checks."""
    evals: list[_Eval] = []
    for col in contract.columns:
        for kind in col.kinds():
            cls = _COLUMN_EVALS[kind]
            evals.append(cls(col, f"{col.name}.{kind}", kind, col.name, col.severity_of(kind)))
        evals.extend(_Custom(c) for c in col.custom)
    for check in contract.checks:
        if isinstance(check, RowCount):
            evals.append(_RowCount(check))
        elif isinstance(check, Freshness):
            evals.append(_Freshness(check))
        elif isinstance(check, UniqueKey):
            evals.append(_UniqueKey(check))
        else:
            evals.append(_Custom(check))
    seen: dict[str, int] = {}
    for e in evals:  # report names are unique: a repeated custom name gets "#2"
        seen[e.name] = seen.get(e.name, 0) + 1
        if seen[e.name] > 1:
            e.name = f"{e.name}#{seen[e.name]}"
    return evals


class Validator:
    """Validate a stream of batches against one contract: `update()` each, then `report()`."""

    def __init__(self, contract: Any, *, parallel: bool = True) -> None:
        self.contract = load_contract(contract)
        self.evals = compile_contract(self.contract)
        self.parallel = parallel
        self.rows = 0
        self.seconds = 0.0

    def update(self, batch: Any) -> None:
        """Run every check on one RecordBatch, or on each batch of a Table."""
        t0 = time.perf_counter()
        if isinstance(batch, pa.RecordBatch):
            self._run([batch])
        elif isinstance(batch, pa.Table):
            self._run(batch.to_batches())
        else:
            for b in batches(batch):
                self._run([b])
        self.seconds += time.perf_counter() - t0

    def _run(self, group: list[pa.RecordBatch]) -> None:
        """Each check walks the batches in order; the checks run side by side in threads, the
        costliest first, so one slow check (a regex) overlaps with all the others."""
        offsets, rows = [], self.rows
        for b in group:
            offsets.append(rows)
            rows += b.num_rows
        n, self.rows = rows - self.rows, rows

        def walk(e: _Eval) -> None:
            for b, off in zip(group, offsets, strict=True):
                e.update(b, off)

        if self.parallel and n >= PARALLEL_MIN_ROWS and len(self.evals) > 1:
            by_cost = sorted(self.evals, key=lambda e: -_COST.get(e.kind, 1))
            for f in [_executor().submit(walk, e) for e in by_cost]:
                f.result()
        else:
            for e in self.evals:
                walk(e)

    def report(self) -> QualityReport:
        """The QualityReport of every row seen so far (uniqueness is settled here)."""
        t0 = time.perf_counter()
        if self.parallel and self.rows >= PARALLEL_MIN_ROWS:
            checks = list(_executor().map(lambda e: e.finish(self.rows), self.evals))
        else:
            checks = [e.finish(self.rows) for e in self.evals]
        seconds = self.seconds + time.perf_counter() - t0
        return QualityReport(self.rows, checks, self.contract.digest, round(seconds, 6))


# Relative cost per row, to start the slow checks first.
_COST = {"regex": 20, "custom": 10, "allowed": 5, "unique": 4, "unique_key": 8, "range": 2}


def validate(
    data: Any,
    contract: Any,
    *,
    batch_rows: int | None = None,
    dtypes: Mapping[str, str] | None = None,
) -> QualityReport:
    """Validate `data` (pandas/polars/pyarrow table, or a Parquet/CSV path, read batch by
    batch) against `contract` (a Contract, dict, YAML path or YAML text). A CSV file's columns
    are read with the contract's types, or with `dtypes` (column -> type name) where given."""
    validator = Validator(contract)
    rows = batch_rows or BATCH_ROWS
    types = read_types(validator.contract)
    for batch in batches(data, rows, dtypes=dtypes, contract_types=types):
        validator.update(batch)
    return validator.report()
