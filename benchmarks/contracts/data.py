"""The validation benchmark's table: N rows x 10 columns with bad rows planted per check.

Ten checks (not-null on three columns, ranges on three, allowed sets on two, a regex, uniqueness
of an id); each check has exactly `bad(n)` failing rows (0.1 %), on row sets that do not
overlap, so every tool must report the same count for every check. Cached as Parquet under
benchmarks/.data/contracts/ (one file per size, 1M-row row groups).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

GRADES = ["A", "B", "C", "D", "E", "F", "G"]
STATES = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ",
    "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT",
    "VA", "WA", "WV", "WI", "WY",
]  # fmt: skip
CODE_REGEX = r"^[A-Z]{3}-[0-9]{6}$"
RANGES = {"amount": (0.0, 1_000_000.0), "rate": (0.0, 1.0), "age": (18, 100)}
NOT_NULL = ["amount", "rate", "income"]
ALLOWED = {"grade": GRADES, "state": STATES}

# (check name, kind, column): the names every tool reports under.
CHECKS = [
    *[(f"{c}.not_null", "not_null", c) for c in NOT_NULL],
    *[(f"{c}.range", "range", c) for c in RANGES],
    *[(f"{c}.allowed", "allowed", c) for c in ALLOWED],
    ("code.regex", "regex", "code"),
    ("id.unique", "unique", "id"),
]


def bad(n: int) -> int:
    return max(1, n // 1000)


def contract_dict() -> dict[str, Any]:
    """The Relay contract for the table (the other tools get the same checks natively)."""
    columns: dict[str, dict[str, Any]] = {
        "id": {"type": "int64", "unique": True},
        "amount": {"type": "float64", "nullable": False, "min": 0.0, "max": 1_000_000.0},
        "rate": {"type": "float64", "nullable": False, "min": 0.0, "max": 1.0},
        "age": {"type": "int64", "min": 18, "max": 100},
        "income": {"type": "float64", "nullable": False},
        "grade": {"type": "string", "allowed": GRADES},
        "state": {"type": "string", "allowed": STATES},
        "code": {"type": "string", "regex": CODE_REGEX},
        "created_at": {"type": "timestamp"},
        "channel": {"type": "string"},
    }
    return {"name": "bench", "columns": columns}


def generate(n: int, seed: int = 7) -> Any:
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    k = bad(n)
    rows = rng.permutation(n)[: k * 11]  # disjoint row sets: 10 checks (+1 for the id pairs)
    sets = [rows[i * k : (i + 1) * k] for i in range(11)]

    ids = np.arange(n, dtype=np.int64)
    # k rows fail uniqueness: k/2 pairs, each pair sharing one id (all occurrences count).
    a, b = sets[9][: k // 2], sets[10][: k // 2]
    ids[b] = ids[a]
    unique_bad = 2 * (k // 2)

    amount = rng.gamma(2.0, 20_000.0, n)
    rate = rng.uniform(0.01, 0.3, n)
    age = rng.integers(18, 90, n)
    income = rng.normal(60_000, 15_000, n)
    amount[sets[3]] = -rng.uniform(1, 100, k)
    rate[sets[4]] = rng.uniform(1.5, 3.0, k)
    age[sets[5]] = rng.integers(101, 130, k)
    null_masks = {}
    for i, col in enumerate(NOT_NULL):
        mask = np.zeros(n, dtype=bool)
        mask[sets[i]] = True
        null_masks[col] = mask

    grade_idx = rng.integers(0, len(GRADES), n)
    grade = np.array(GRADES, dtype=object)[grade_idx]
    grade[sets[6]] = "Z"
    state = np.array(STATES, dtype=object)[rng.integers(0, len(STATES), n)]
    state[sets[7]] = "XX"
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    prefix = ["".join(t) for t in letters[rng.integers(0, 26, (4096, 3))]]
    code = np.char.add(
        np.char.add(np.array(prefix)[rng.integers(0, 4096, n)], "-"),
        np.char.zfill(rng.integers(0, 1_000_000, n).astype(str), 6),
    ).astype(object)
    code[sets[8]] = "bad_code"
    created = np.datetime64("2026-01-01T00:00:00", "us") + rng.integers(
        0, 300 * 86_400_000_000, n
    ).astype("timedelta64[us]")
    channel = np.array(["web", "branch", "phone", "partner"], dtype=object)[rng.integers(0, 4, n)]
    table = pa.table(
        {
            "id": pa.array(ids),
            "amount": pa.array(amount, mask=null_masks["amount"]),
            "rate": pa.array(rate, mask=null_masks["rate"]),
            "age": pa.array(age.astype(np.int64)),
            "income": pa.array(income, mask=null_masks["income"]),
            "grade": pa.array(grade, type=pa.string()),
            "state": pa.array(state, type=pa.string()),
            "code": pa.array(code, type=pa.string()),
            "created_at": pa.array(created),
            "channel": pa.array(channel, type=pa.string()),
        }
    )
    expected = {name: k for name, _, _ in CHECKS}
    expected["id.unique"] = unique_bad
    return table, expected


def ensure(n: int, folder: Path) -> tuple[Path, dict[str, int]]:
    """The Parquet file for n rows (generated once) and the expected failing rows per check."""
    import json

    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"table_{n}.parquet"
    meta = folder / f"table_{n}.expected.json"
    if not (path.exists() and meta.exists()):
        table, expected = generate(n)
        tmp = path.with_suffix(".tmp")
        pq.write_table(table, tmp, row_group_size=1_000_000)
        tmp.replace(path)
        meta.write_text(json.dumps(expected, indent=1))
    return path, json.loads(meta.read_text())
