"""One measurement in its own process: load the table as the tool's native frame, validate.

    python measure.py TOOL TABLE.parquet REPEATS

Prints one JSON line: tool, version, seconds (best of REPEATS), all_seconds, data_mb (the
frame's in-memory size), rss_loaded_mb, peak_mb (peak RSS during validation; the kernel's peak
counter is reset after loading), extra_mb (= peak - loaded) and counts (failing rows per check,
named as in data.CHECKS). Needs pyarrow and numpy besides the tool.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import ALLOWED, CHECKS, CODE_REGEX, NOT_NULL, RANGES, contract_dict

Runner = Callable[[], dict[str, int]]


def _status(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return float(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux >= 4.0)
        return True
    except OSError:
        return False


def plain(path: str) -> tuple[Runner, float, str]:
    """The baseline: one hand-written pass of Arrow kernels and NumPy over the whole table."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(path)

    def valid_fails(col: Any, ok: Any) -> int:
        return len(col) - col.null_count - int(pc.sum(ok).as_py() or 0)

    def run() -> dict[str, int]:
        out = {f"{c}.not_null": t[c].null_count for c in NOT_NULL}
        for c, (lo, hi) in RANGES.items():
            col = t[c]
            out[f"{c}.range"] = valid_fails(
                col, pc.and_(pc.greater_equal(col, lo), pc.less_equal(col, hi))
            )
        for c, values in ALLOWED.items():
            ok = pc.is_in(t[c], value_set=pa.array(values), skip_nulls=True)
            out[f"{c}.allowed"] = valid_fails(t[c], ok)
        out["code.regex"] = valid_fails(t["code"], pc.match_substring_regex(t["code"], CODE_REGEX))
        s = np.sort(t["id"].to_numpy())
        eq = s[1:] == s[:-1]
        mark = np.zeros(len(s), dtype=bool)
        mark[1:] |= eq
        mark[:-1] |= eq
        out["id.unique"] = int(np.count_nonzero(mark))
        return out

    return run, t.nbytes / 2**20, f"pyarrow {pa.__version__}, numpy {np.__version__}"


def relay(path: str) -> tuple[Runner, float, str]:
    import pyarrow.parquet as pq

    from relayml.contracts import Validator, load_contract

    t = pq.read_table(path)
    contract = load_contract(contract_dict())

    def run() -> dict[str, int]:
        v = Validator(contract)
        v.update(t)
        report = v.report()
        return {c.name: c.failing_count for c in report.checks}

    from importlib.metadata import version

    return run, t.nbytes / 2**20, f"relayml {version('relayml')}"


def pandera(path: str) -> tuple[Runner, float, str]:
    import pandera as pdr
    import pandera.polars as pa
    import polars as pl

    df = pl.read_parquet(path)
    columns: dict[str, Any] = {
        "id": pa.Column(pl.Int64, unique=True),
        "age": pa.Column(pl.Int64, checks=pa.Check.in_range(*RANGES["age"])),
        "income": pa.Column(pl.Float64, nullable=False),
        "code": pa.Column(pl.Utf8, checks=pa.Check.str_matches(CODE_REGEX), nullable=True),
    }
    for c in ("amount", "rate"):
        columns[c] = pa.Column(pl.Float64, nullable=False, checks=pa.Check.in_range(*RANGES[c]))
    for c, values in ALLOWED.items():
        columns[c] = pa.Column(pl.Utf8, checks=pa.Check.isin(values), nullable=True)
    schema = pa.DataFrameSchema(columns)
    kinds = {"not_nullable": "not_null", "in_range": "range", "isin": "allowed",
             "str_matches": "regex", "field_uniqueness": "unique"}  # fmt: skip

    def run() -> dict[str, int]:
        try:
            schema.validate(df, lazy=True)
            return {}
        except pdr.errors.SchemaErrors as exc:
            fc = exc.failure_cases
        counts: dict[str, int] = {}
        for column, check, n in fc.group_by(["column", "check"]).len().iter_rows():
            kind = next((v for k, v in kinds.items() if str(check).startswith(k)), str(check))
            counts[f"{column}.{kind}"] = counts.get(f"{column}.{kind}", 0) + int(n)
        return counts

    return run, df.estimated_size() / 2**20, f"pandera {pdr.__version__}, polars {pl.__version__}"


def great_expectations(path: str) -> tuple[Runner, float, str]:
    import great_expectations as gx
    import pandas as pd
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    strings = pd.StringDtype("pyarrow")
    df = table.to_pandas(types_mapper=lambda t: strings if str(t) == "string" else None)
    del table
    ctx = gx.get_context(mode="ephemeral")
    batch_def = (
        ctx.data_sources.add_pandas("bench")
        .add_dataframe_asset("table")
        .add_batch_definition_whole_dataframe("all")
    )
    E = gx.expectations
    suite = ctx.suites.add(gx.ExpectationSuite(name="bench"))
    for c in NOT_NULL:
        suite.add_expectation(E.ExpectColumnValuesToNotBeNull(column=c))
    for c, (lo, hi) in RANGES.items():
        suite.add_expectation(E.ExpectColumnValuesToBeBetween(column=c, min_value=lo,
                                                              max_value=hi))  # fmt: skip
    for c, values in ALLOWED.items():
        suite.add_expectation(E.ExpectColumnValuesToBeInSet(column=c, value_set=values))
    suite.add_expectation(E.ExpectColumnValuesToMatchRegex(column="code", regex=CODE_REGEX))
    suite.add_expectation(E.ExpectColumnValuesToBeUnique(column="id"))
    kinds = {"expect_column_values_to_not_be_null": "not_null",
             "expect_column_values_to_be_between": "range",
             "expect_column_values_to_be_in_set": "allowed",
             "expect_column_values_to_match_regex": "regex",
             "expect_column_values_to_be_unique": "unique"}  # fmt: skip

    def run() -> dict[str, int]:
        batch = batch_def.get_batch(batch_parameters={"dataframe": df})
        result = batch.validate(suite, result_format="BASIC")
        counts = {}
        for r in result.results:
            cfg = r.expectation_config
            name = f"{cfg.kwargs['column']}.{kinds[cfg.type]}"
            counts[name] = int(r.result.get("unexpected_count") or 0)
        return counts

    mb = float(df.memory_usage(deep=True).sum()) / 2**20
    return run, mb, f"great_expectations {gx.__version__}, pandas {pd.__version__}"


TOOLS = {"plain": plain, "relay": relay, "pandera": pandera,
         "great_expectations": great_expectations}  # fmt: skip


def main() -> None:
    tool, path, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    run, data_mb, version = TOOLS[tool](path)
    import gc

    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()  # decode buffers are not the data: drop them
    loaded = _status("VmRSS")
    exact = reset_peak()
    times, counts = [], {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        counts = run()
        times.append(time.perf_counter() - t0)
    peak = _status("VmHWM") if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wanted = {name for name, _, _ in CHECKS}
    print(json.dumps({
        "tool": tool, "version": version, "seconds": min(times), "all_seconds": times,
        "data_mb": data_mb, "rss_loaded_mb": loaded, "peak_mb": peak,
        "extra_mb": max(0.0, peak - loaded), "peak_exact": exact,
        "counts": {k: v for k, v in counts.items() if k in wanted},
    }))  # fmt: skip


if __name__ == "__main__":
    main()
