"""One rule for non-finite numbers in every JSON Relay writes: "NaN", "Infinity", "-Infinity".

Drift reports wrote null and contract samples "inf"/"-inf" while REST and --json wrote the
strings; a reader of two of them had to know two rules.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

import relayml.drift as drift
from relayml.cli.output import jsonable
from relayml.contracts import Column, Contract, validate
from relayml.domain.numbers import decode_float, encode_float, json_safe

VALUES = [math.nan, math.inf, -math.inf, 1.5, 0.0]
WRITTEN: list[float | str] = ["NaN", "Infinity", "-Infinity", 1.5, 0.0]


def test_encode_decode_round_trip() -> None:
    assert [encode_float(v) for v in VALUES] == WRITTEN
    back = [decode_float(v) for v in WRITTEN]
    assert math.isnan(back[0]) and back[1:] == VALUES[1:]
    assert json_safe({"a": VALUES, "b": (math.inf,), "c": "x"}) == {
        "a": WRITTEN,
        "b": ["Infinity"],
        "c": "x",
    }


def test_drift_json_writes_them_as_the_wire_does(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=300)})
    cur = pd.DataFrame({"x": rng.normal(size=300)})
    report = drift.compare(ref, cur, psi=math.inf)
    data = json.loads(report.to_json(tmp_path / "drift.json"))
    assert data["thresholds"]["psi"] == "Infinity"
    psi = [e for s in data["columns"]["x"]["signals"] for e in s["effects"] if e["name"] == "psi"]
    assert psi and all(e["threshold"] == "Infinity" for e in psi)


def test_contract_samples_and_cli_json_agree() -> None:
    t = pa.table({"x": [1.0, math.inf, -math.inf, math.nan]})
    report = validate(t, Contract(columns=[Column("x", min=-10, max=10)])).to_dict()
    failing = next(c for c in report["checks"] if c["name"] == "x.range")["sample"]
    assert [s["x"] for s in failing] == ["Infinity", "-Infinity", "NaN"]
    assert jsonable({"v": VALUES}) == {"v": WRITTEN}
