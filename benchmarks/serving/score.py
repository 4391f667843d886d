"""Batch scoring (issue 12): `relay.models.score` of a 10M-row Parquet file against a plain
`predict` loop over the same file's Parquet batches, measured in the same run, with peak memory.

    python benchmarks/serving/score.py                 # 10M rows (what `make bench` runs)
    python benchmarks/serving/score.py --rows 1000000  # smaller, on a busy machine
    python benchmarks/serving/score.py --ray           # also --executor ray (a local Ray)

The model is a scikit-learn pipeline (StandardScaler + LogisticRegression) on a dataset
scikit-learn ships (breast cancer: 30 float columns); the table is its rows drawn with
replacement plus a little noise. Each measurement runs in a fresh process from the same
registry; the time counts everything after the imports (fetching and loading the model, reading,
predicting, writing). Modes:

- relay: `relay.models.score(..., columns_out=[])`: prediction and the two probabilities;
- relay, input kept: the default, the 30 input columns copied to the output too;
- floor, predict: read the file 65,536 rows at a time with pyarrow, `model.predict` on
  each batch's DataFrame, the predictions written to a Parquet file;
- floor, predict + proba: the same loop writing what Relay writes (prediction, probabilities);
- ray (with --ray): `executor="ray"` on a local Ray with the machine's CPUs.

Results go between the scoring markers of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DATA = ROOT / "benchmarks" / ".data" / "serving"
sys.path.insert(0, str(HERE.parent))
import harness  # noqa: E402

BATCH = 65_536
TIMEOUT = 3600
MODES = ("relay", "relay-all", "floor-predict", "floor-proba", "ray")
LABELS = {
    "relay": "relay score (prediction + probabilities)",
    "relay-all": "relay score, 30 input columns kept",
    "floor-predict": "floor: predict loop over Parquet batches",
    "floor-proba": "floor: predict + predict_proba loop",
    "ray": "relay score --executor ray (local Ray)",
}


def make_table(rows: int) -> Path:
    """The input: breast-cancer rows drawn with replacement, with 1 % noise, cached."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sklearn.datasets import load_breast_cancer

    path = DATA / f"score-{rows}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    X, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    rng = np.random.default_rng(0)
    base = X.to_numpy()
    scale = base.std(axis=0) * 0.01
    tmp = path.with_suffix(".tmp")
    schema = pa.schema([(str(c), pa.float64()) for c in X.columns])
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            noise = rng.normal(size=(n, base.shape[1])) * scale
            block = base[rng.integers(0, len(base), n)] + noise
            writer.write_table(
                pa.Table.from_arrays([pa.array(block[:, i]) for i in range(block.shape[1])],
                                     schema=schema),
                row_group_size=BATCH,
            )  # fmt: skip
    tmp.rename(path)
    return path


def register(home: Path) -> str:
    """The pipeline registered as bench@1 in a fresh embedded store at `home`."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import relayml as relay

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    relay.init("bench", home=home)
    return relay.models.register("bench", model, input_example=X[:5]).ref


def _floor(table: Path, out: Path, proba: bool) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    import relayml as relay

    model = relay.models.load("bench@1").model  # the plain scikit-learn pipeline
    rows, writer = 0, None
    for batch in pq.ParquetFile(table).iter_batches(batch_size=BATCH):
        frame = batch.to_pandas()
        columns = {"prediction": pa.array(model.predict(frame))}
        if proba:
            p = model.predict_proba(frame)
            columns |= {f"probability_{i}": pa.array(p[:, i]) for i in range(p.shape[1])}
        scored = pa.table(columns)
        if writer is None:
            writer = pq.ParquetWriter(out, scored.schema, compression="zstd")
        writer.write_table(scored)
        rows += batch.num_rows
    if writer is not None:
        writer.close()
    return rows


def run_mode(mode: str, table: Path, out: Path) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    import pyarrow  # noqa: F401 - the imports are not timed, in any mode
    import sklearn.linear_model  # noqa: F401

    import relayml as relay

    relay.init("bench")
    t0 = time.perf_counter()
    if mode.startswith("floor"):
        rows = _floor(table, out, proba=mode == "floor-proba")
    else:
        result = relay.models.score(
            "bench@1", table, out, executor="ray" if mode == "ray" else "local",
            columns_out=None if mode == "relay-all" else [],
        )  # fmt: skip
        rows = result.rows
    seconds = time.perf_counter() - t0
    return {"rows": rows, "seconds": seconds, "peak_mb": peak_mb()}


def peak_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(mode: str, table: Path, home: Path, work: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(RELAY_HOME=str(home), RELAY_USER="bench")
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    out = work / f"{mode}.parquet"
    cmd = [sys.executable, str(Path(__file__)), "--measure", mode, str(table), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work, timeout=TIMEOUT)
    if proc.returncode != 0:
        return {"error": " | ".join(proc.stderr.strip().splitlines()[-3:])[:300]}
    found = dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    found["output"] = str(out)
    return found


def same_predictions(a: str, b: str) -> bool:
    import pyarrow.parquet as pq

    left = pq.read_table(a, columns=["prediction"])["prediction"]
    right = pq.read_table(b, columns=["prediction"])["prediction"]
    return bool(left.equals(right))


def versions() -> str:
    from importlib.metadata import version

    names = ("relayml", "scikit-learn", "pyarrow", "pandas", "numpy", "ray")
    found = []
    for name in names:
        try:
            found.append(f"{name} {version(name)}")
        except Exception:
            continue
    return ", ".join(found)


def report(rows: int, results: dict[str, dict[str, Any]], checks: list[str], cmd: str) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    lines = [
        "<!-- scoring:begin -->",
        "## Batch scoring (`relay score`, `relay.models.score`) vs a plain predict loop",
        "",
        f"Command: `{cmd}` · machine: {harness.machine_line()} · run {now} UTC",
        "",
        f"Data: {rows:,} rows x 30 float columns (scikit-learn's breast cancer rows drawn with "
        "replacement, 1 % noise; zstd Parquet, 65,536-row row groups); model: StandardScaler + "
        "LogisticRegression registered in an embedded store. Each row is a fresh process; "
        "seconds count everything after the imports (model fetch and load, read, predict, "
        "write); peak MB is the process's peak RSS.",
        "",
        "| mode | rows/s | seconds | peak MB |",
        "| --- | ---: | ---: | ---: |",
    ]
    for mode, found in results.items():
        if "error" in found:
            lines.append(f"| {LABELS[mode]} | error: {found['error']} | | |")
            continue
        rate = found["rows"] / found["seconds"]
        lines.append(
            f"| {LABELS[mode]} | {rate:,.0f} | {found['seconds']:.1f} | {found['peak_mb']:,.0f} |"
        )
    lines += ["", *[f"- {c}" for c in checks], "", f"Versions: {versions()}", ""]
    lines.append("<!-- scoring:end -->")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--ray", action="store_true", help="also score on a local Ray")
    parser.add_argument("--measure", nargs=3, metavar=("MODE", "TABLE", "OUT"), help="internal")
    args = parser.parse_args()
    if args.measure:
        mode, table, out = args.measure
        print(json.dumps(run_mode(mode, Path(table), Path(out))))
        return
    table = make_table(args.rows)
    modes = [m for m in MODES if m != "ray" or args.ray]
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="relay-bench-score-") as tmp:
        work = Path(tmp)
        home = work / ".relay"
        os.environ.update(RELAY_HOME=str(home), RELAY_USER="bench")
        register(home)
        for mode in modes:
            print(f"{mode} ...", flush=True)
            results[mode] = measure(mode, table, home, work)
            print(f"  {results[mode]}", flush=True)
        checks = []
        base = results.get("floor-predict", {})
        for mode in ("relay", "relay-all", "ray"):
            found = results.get(mode, {})
            if "error" in found or "error" in base or not found:
                continue
            same = same_predictions(found["output"], base["output"])
            ratio = (found["rows"] / found["seconds"]) / (base["rows"] / base["seconds"])
            checks.append(
                f"{LABELS[mode]}: {ratio:.2f}x the floor's rows/s; predictions identical to "
                f"the floor's: {'yes' if same else 'NO'}"
            )
    cmd = " ".join(["python", "benchmarks/serving/score.py", *sys.argv[1:]])
    section = report(args.rows, results, checks, cmd)
    harness.write_section("scoring", section)
    print(section)


if __name__ == "__main__":
    main()
